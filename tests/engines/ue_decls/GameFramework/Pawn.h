// Mirrors: Runtime/Engine/Classes/GameFramework/Pawn.h (APawn).
#pragma once
#include "GameFramework/Actor.h"

class AController;

class APawn : public AActor
{
public:
	static UClass* StaticClass();
	uint32 bUseControllerRotationYaw : 1;
	AController* GetController() const;
	virtual void AddMovementInput(FVector WorldDirection, float ScaleValue = 1.0f, bool bForce = false);
	virtual void SetupPlayerInputComponent(UInputComponent* PlayerInputComponent);
};
