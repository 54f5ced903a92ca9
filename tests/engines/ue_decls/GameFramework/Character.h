// Mirrors: Runtime/Engine/Classes/GameFramework/Character.h (ACharacter).
#pragma once
#include "GameFramework/Pawn.h"

class UCapsuleComponent;
class UCharacterMovementComponent;

class ACharacter : public APawn
{
public:
	static UClass* StaticClass();
	ACharacter(const FObjectInitializer& ObjectInitializer = FObjectInitializer::Get());
	UCharacterMovementComponent* GetCharacterMovement() const;
	UCapsuleComponent* GetCapsuleComponent() const;
	virtual void Jump();
	virtual void StopJumping();
};
