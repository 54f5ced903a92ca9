// Mirrors: Runtime/Engine/Classes/Components/SceneComponent.h (USceneComponent): the relative
// location is in the attach parent's frame (the world's when there is no parent).
#pragma once
#include "Components/ActorComponent.h"
#include "Engine/EngineTypes.h"

class USceneComponent : public UActorComponent
{
public:
	static UClass* StaticClass();
	FVector GetRelativeLocation() const { return RelativeLocation; }
	void SetRelativeLocation(FVector NewLocation, bool bSweep = false, void* OutSweepHitResult = nullptr,
		ETeleportType Teleport = ETeleportType::None);
private:
	FVector RelativeLocation;
};
