// A PlayerStart that carries the manifest's player controller settings and the player node's
// actor, which PacaiGameMode gives to the pawn it spawns here.
#pragma once

#include "CoreMinimal.h"
#include "GameFramework/PlayerStart.h"
#include "PacaiPlayerStart.generated.h"

UCLASS()
class PACAIGAMEPLAY_API APacaiPlayerStart : public APlayerStart
{
	GENERATED_BODY()

public:
	APacaiPlayerStart(const FObjectInitializer& ObjectInitializer);

	/** cm/s (UCharacterMovementComponent::MaxWalkSpeed). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	float WalkSpeed = 500.0f;

	/** cm/s along +Z (UCharacterMovementComponent::JumpZVelocity). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	float JumpVelocity = 450.0f;

	/** The pawn's capsule (UCapsuleComponent::SetCapsuleSize, cm); 0: the class default. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	float CapsuleRadius = 0.0f;

	/** Half the capsule's height, caps included, cm; 0: the class default. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	float CapsuleHalfHeight = 0.0f;

	/** The player node's actor: moved to the pawn, attached to it, its collision off. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	TObjectPtr<AActor> Body;
};
