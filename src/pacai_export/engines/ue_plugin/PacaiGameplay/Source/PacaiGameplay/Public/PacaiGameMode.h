// The levels' game mode: the player is a PacaiCharacter spawned at a PlayerStart.
#pragma once

#include "CoreMinimal.h"
#include "GameFramework/GameModeBase.h"
#include "PacaiGameMode.generated.h"

UCLASS()
class PACAIGAMEPLAY_API APacaiGameMode : public AGameModeBase
{
	GENERATED_BODY()

public:
	APacaiGameMode();

	virtual APawn* SpawnDefaultPawnFor_Implementation(AController* NewPlayer, AActor* StartSpot) override;
};
