// The manifest's bob: moves its actor's root along Amplitude * sin(2 pi Frequency t) from where
// it was at BeginPlay (t = 0 then), the sine the Godot and Unity bob scripts follow
// (origin + up * A * sin(2 pi f t)). Amplitude is in the root's parent frame (the world for an
// unattached actor) and only the relative location is set, so a RotatingMovementComponent
// spinning the same actor neither turns the bob axis nor undoes the bob (it sets rotation only).
#pragma once

#include "CoreMinimal.h"
#include "Components/ActorComponent.h"
#include "PacaiBobComponent.generated.h"

UCLASS(ClassGroup = (Pacai), meta = (BlueprintSpawnableComponent))
class PACAIGAMEPLAY_API UPacaiBobComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UPacaiBobComponent();

	/** cm: the highest offset from the start location (the parent's up times the amplitude). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	FVector Amplitude = FVector::ZeroVector;

	/** Hz: periods per second. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Pacai")
	float Frequency = 0.5f;

	/** The offset from the start location after Cycles periods. */
	FVector OffsetAt(double Cycles) const;

	virtual void TickComponent(float DeltaTime, ELevelTick TickType,
		FActorComponentTickFunction* ThisTickFunction) override;

protected:
	virtual void BeginPlay() override;

private:
	FVector Start = FVector::ZeroVector;

	/** Periods since BeginPlay, whole ones dropped (sin is periodic) so the phase keeps its
	 * precision however long the level plays. */
	double Cycles = 0.0;
};
