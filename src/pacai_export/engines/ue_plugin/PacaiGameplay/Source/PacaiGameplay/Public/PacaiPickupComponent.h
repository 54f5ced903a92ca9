// The manifest's pickup: collected when the player's pawn comes within Radius (cm) of its
// actor, which then goes with what is attached to it; a PacaiCharacter adds Value to its Score.
#pragma once

#include "CoreMinimal.h"
#include "Components/ActorComponent.h"
#include "PacaiPickupComponent.generated.h"

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FPacaiPickedUp, int32, Value);

UCLASS(ClassGroup = (Pacai), meta = (BlueprintSpawnableComponent))
class PACAIGAMEPLAY_API UPacaiPickupComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UPacaiPickupComponent();

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	int32 Value = 1;

	/** cm, between the pawn's and this actor's locations. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	float Radius = 100.0f;

	UPROPERTY(BlueprintAssignable, Category = "Pacai")
	FPacaiPickedUp OnPickedUp;

	virtual void TickComponent(float DeltaTime, ELevelTick TickType,
		FActorComponentTickFunction* ThisTickFunction) override;
};
