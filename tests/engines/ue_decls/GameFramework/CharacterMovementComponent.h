// Mirrors: Runtime/Engine/Classes/GameFramework/CharacterMovementComponent.h
// (UCharacterMovementComponent: MaxWalkSpeed and JumpZVelocity are float, cm/s).
#pragma once
#include "Components/ActorComponent.h"

class UCharacterMovementComponent : public UActorComponent
{
public:
	static UClass* StaticClass();
	float MaxWalkSpeed;
	float JumpZVelocity;
	uint8 bOrientRotationToMovement : 1;
};
