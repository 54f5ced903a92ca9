// Mirrors: Runtime/Engine/Classes/GameFramework/Controller.h (AController).
#pragma once
#include "GameFramework/Actor.h"

class AController : public AActor
{
public:
	static UClass* StaticClass();
};
