#include "PacaiGameMode.h"

#include "Components/CapsuleComponent.h"
#include "PacaiCharacter.h"
#include "PacaiPlayerStart.h"

APacaiGameMode::APacaiGameMode()
{
	DefaultPawnClass = APacaiCharacter::StaticClass();
}

APawn* APacaiGameMode::SpawnDefaultPawnFor_Implementation(AController* NewPlayer, AActor* StartSpot)
{
	APawn* Pawn = Super::SpawnDefaultPawnFor_Implementation(NewPlayer, StartSpot);
	APacaiCharacter* Character = Cast<APacaiCharacter>(Pawn);
	const APacaiPlayerStart* Start = Cast<APacaiPlayerStart>(StartSpot);
	if (Character == nullptr || Start == nullptr)
	{
		return Pawn;
	}
	Character->ApplyMovement(Start->WalkSpeed, Start->JumpVelocity);
	if (Start->CapsuleRadius > 0.0f && Start->CapsuleHalfHeight > 0.0f)
	{
		Character->GetCapsuleComponent()->SetCapsuleSize(Start->CapsuleRadius, Start->CapsuleHalfHeight);
	}
	AActor* Body = Start->Body.Get();
	if (Body != nullptr)
	{
		// The pawn's capsule is its collision; the node's own collider would block it.
		Body->SetActorEnableCollision(false);
		Body->SetActorLocation(Character->GetActorLocation());
		Body->AttachToActor(Character, FAttachmentTransformRules::KeepWorldTransform);
	}
	return Pawn;
}
