// Mirrors: Runtime/Engine/Classes/GameFramework/PlayerStart.h (APlayerStart) and
// Engine/NavigationObjectBase.h (its base).
#pragma once
#include "GameFramework/Actor.h"

class ANavigationObjectBase : public AActor
{
public:
	static UClass* StaticClass();
};

class APlayerStart : public ANavigationObjectBase
{
public:
	static UClass* StaticClass();
	APlayerStart(const FObjectInitializer& ObjectInitializer);
};
