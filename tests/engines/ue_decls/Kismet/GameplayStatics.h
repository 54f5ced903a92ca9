// Mirrors: Runtime/Engine/Classes/Kismet/GameplayStatics.h (UGameplayStatics::GetPlayerPawn).
#pragma once
#include "CoreMinimal.h"

class APawn;

class UGameplayStatics : public UObject
{
public:
	static class APawn* GetPlayerPawn(const UObject* WorldContextObject, int32 PlayerIndex);
};
