// Mirrors: Runtime/Engine/Classes/GameFramework/Actor.h (AActor).
#pragma once
#include "CoreMinimal.h"
#include "Engine/EngineBaseTypes.h"
#include "Engine/EngineTypes.h"

class UInputComponent;
class USceneComponent;

class AActor : public UObject
{
public:
	static UClass* StaticClass();
	USceneComponent* GetRootComponent() const;
	FVector GetActorLocation() const;
	FRotator GetActorRotation() const;
	bool SetActorLocation(const FVector& NewLocation, bool bSweep = false, void* OutSweepHitResult = nullptr);
	virtual void SetActorEnableCollision(bool bNewActorEnableCollision);
	bool AttachToActor(AActor* ParentActor, const FAttachmentTransformRules& AttachmentRules, FName SocketName = NAME_None);
	void GetAttachedActors(TArray<AActor*>& OutActors, bool bResetArray = true, bool bRecursivelyIncludeAttachedActors = false) const;
	bool IsOverlappingActor(const AActor* Other) const;
	virtual bool Destroy(bool bNetForce = false, bool bShouldModifyLevel = true);
protected:
	virtual void BeginPlay();
};
