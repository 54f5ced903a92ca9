// Mirrors: Runtime/Engine/Classes/Components/ActorComponent.h (UActorComponent).
#pragma once
#include "CoreMinimal.h"
#include "Engine/EngineBaseTypes.h"

class AActor;

class UActorComponent : public UObject
{
public:
	static UClass* StaticClass();
	FActorComponentTickFunction PrimaryComponentTick;
	AActor* GetOwner() const;
	virtual void BeginPlay();
	virtual void TickComponent(float DeltaTime, enum ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction);
};
