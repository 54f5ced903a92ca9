#include "PacaiPickupComponent.h"

#include "GameFramework/Pawn.h"
#include "Kismet/GameplayStatics.h"
#include "PacaiCharacter.h"

UPacaiPickupComponent::UPacaiPickupComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
}

void UPacaiPickupComponent::TickComponent(float DeltaTime, ELevelTick TickType,
	FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	AActor* Owner = GetOwner();
	APawn* Player = UGameplayStatics::GetPlayerPawn(this, 0);
	if (Owner == nullptr || Player == nullptr
		|| FVector::Dist(Player->GetActorLocation(), Owner->GetActorLocation()) > Radius)
	{
		return;
	}
	if (APacaiCharacter* Character = Cast<APacaiCharacter>(Player))
	{
		Character->AddScore(Value);
	}
	OnPickedUp.Broadcast(Value);
	TArray<AActor*> Attached;
	Owner->GetAttachedActors(Attached);
	for (AActor* Actor : Attached)
	{
		Actor->Destroy();
	}
	Owner->Destroy();
}
