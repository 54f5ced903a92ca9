// Mirrors: Runtime/Engine/Classes/GameFramework/PlayerController.h (APlayerController).
#pragma once
#include "GameFramework/Controller.h"

class APlayerCameraManager;

class APlayerController : public AController
{
public:
	static UClass* StaticClass();
	TObjectPtr<APlayerCameraManager> PlayerCameraManager;
};
