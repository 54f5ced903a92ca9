// The manifest's player_controller: a Character moved by WASD / arrow keys relative to the view,
// jumping with Space, like the Godot and Unity player scripts. Speeds are in cm/s.
#pragma once

#include "CoreMinimal.h"
#include "GameFramework/Character.h"
#include "PacaiCharacter.generated.h"

class UInputComponent;

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FPacaiScoreChanged, int32, Score);

UCLASS()
class PACAIGAMEPLAY_API APacaiCharacter : public ACharacter
{
	GENERATED_BODY()

public:
	APacaiCharacter();

	/** The pickups' values collected so far. */
	UPROPERTY(VisibleAnywhere, BlueprintReadOnly, Category = "Pacai")
	int32 Score = 0;

	UPROPERTY(BlueprintAssignable, Category = "Pacai")
	FPacaiScoreChanged OnScoreChanged;

	/** UCharacterMovementComponent::MaxWalkSpeed and JumpZVelocity, both cm/s. */
	void ApplyMovement(float WalkSpeed, float JumpVelocity);

	void AddScore(int32 Value);

	virtual void SetupPlayerInputComponent(UInputComponent* PlayerInputComponent) override;

private:
	void MoveForward(float Value);
	void MoveRight(float Value);
	void MoveAlong(EAxis::Type Axis, float Value);
};
