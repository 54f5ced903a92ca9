#include "PacaiBobComponent.h"

#include "Components/SceneComponent.h"
#include "GameFramework/Actor.h"

UPacaiBobComponent::UPacaiBobComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
}

void UPacaiBobComponent::BeginPlay()
{
	Super::BeginPlay();
	const AActor* Owner = GetOwner();
	const USceneComponent* Root = Owner != nullptr ? Owner->GetRootComponent() : nullptr;
	Start = Root != nullptr ? Root->GetRelativeLocation() : FVector::ZeroVector;
	Cycles = 0.0;
}

void UPacaiBobComponent::TickComponent(float DeltaTime, ELevelTick TickType,
	FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	const AActor* Owner = GetOwner();
	USceneComponent* Root = Owner != nullptr ? Owner->GetRootComponent() : nullptr;
	if (Root == nullptr)
	{
		return;
	}
	Cycles = FMath::Fmod(Cycles + static_cast<double>(DeltaTime) * Frequency, 1.0);
	// The relative location only: the root's rotation (a RotatingMovementComponent's) is kept.
	Root->SetRelativeLocation(Start + OffsetAt(Cycles));
}

FVector UPacaiBobComponent::OffsetAt(double InCycles) const
{
	// UE_DOUBLE_TWO_PI: UE_TWO_PI is a float (6.28318530717f, UnrealMathUtility.h), which
	// would put the sine 2e-7 of the amplitude off the other engines' double one.
	return Amplitude * FMath::Sin(UE_DOUBLE_TWO_PI * InCycles);
}
