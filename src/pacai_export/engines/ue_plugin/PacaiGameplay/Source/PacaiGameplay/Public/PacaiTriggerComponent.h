// The manifest's trigger_zone on its TriggerBox: fires OnEntered / OnExited with EventName when
// the player's pawn starts or stops overlapping the box, and logs the event.
#pragma once

#include "CoreMinimal.h"
#include "Components/ActorComponent.h"
#include "PacaiTriggerComponent.generated.h"

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FPacaiTriggerEvent, AActor*, Actor, const FString&, EventName);

UCLASS(ClassGroup = (Pacai), meta = (BlueprintSpawnableComponent))
class PACAIGAMEPLAY_API UPacaiTriggerComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UPacaiTriggerComponent();

	/** FString, not FName: any manifest text, no length limit or case folding. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	FString EventName = TEXT("triggered");

	UPROPERTY(BlueprintAssignable, Category = "Pacai")
	FPacaiTriggerEvent OnEntered;

	UPROPERTY(BlueprintAssignable, Category = "Pacai")
	FPacaiTriggerEvent OnExited;

	virtual void TickComponent(float DeltaTime, ELevelTick TickType,
		FActorComponentTickFunction* ThisTickFunction) override;

private:
	bool bInside = false;
};
