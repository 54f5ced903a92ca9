// Mirrors: Runtime/Engine/Classes/Camera/PlayerCameraManager.h (APlayerCameraManager).
#pragma once
#include "GameFramework/Actor.h"

class APlayerCameraManager : public AActor
{
public:
	static UClass* StaticClass();
	FRotator GetCameraRotation() const;
};
