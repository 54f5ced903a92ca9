#include "PacaiTriggerComponent.h"

#include "GameFramework/Pawn.h"
#include "Kismet/GameplayStatics.h"

DEFINE_LOG_CATEGORY_STATIC(LogPacai, Log, All);

UPacaiTriggerComponent::UPacaiTriggerComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
}

void UPacaiTriggerComponent::TickComponent(float DeltaTime, ELevelTick TickType,
	FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	const AActor* Owner = GetOwner();
	APawn* Player = UGameplayStatics::GetPlayerPawn(this, 0);
	// The TriggerBox's box overlaps (Trigger profile) what the pawn's capsule overlaps.
	const bool bNow = Owner != nullptr && Player != nullptr && Owner->IsOverlappingActor(Player);
	if (bNow == bInside)
	{
		return;
	}
	bInside = bNow;
	UE_LOG(LogPacai, Log, TEXT("pacai trigger %s: %s"), bNow ? TEXT("entered") : TEXT("exited"), *EventName);
	if (bNow)
	{
		OnEntered.Broadcast(Player, EventName);
	}
	else
	{
		OnExited.Broadcast(Player, EventName);
	}
}
