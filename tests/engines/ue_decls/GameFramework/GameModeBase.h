// Mirrors: Runtime/Engine/Classes/GameFramework/GameModeBase.h (AGameModeBase;
// SpawnDefaultPawnFor is a BlueprintNativeEvent, so C++ overrides its _Implementation).
#pragma once
#include "GameFramework/Actor.h"

class APawn;
class AController;

class AGameModeBase : public AActor
{
public:
	static UClass* StaticClass();
	AGameModeBase(const FObjectInitializer& ObjectInitializer = FObjectInitializer::Get());
	TSubclassOf<APawn> DefaultPawnClass;
	virtual APawn* SpawnDefaultPawnFor_Implementation(AController* NewPlayer, AActor* StartSpot);
};
