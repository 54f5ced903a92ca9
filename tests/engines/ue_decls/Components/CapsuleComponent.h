// Mirrors: Runtime/Engine/Classes/Components/CapsuleComponent.h (UCapsuleComponent) and
// Components/ShapeComponent.h, Components/PrimitiveComponent.h (its bases, reduced to the chain).
#pragma once
#include "Components/SceneComponent.h"

class UPrimitiveComponent : public USceneComponent
{
public:
	static UClass* StaticClass();
};

class UShapeComponent : public UPrimitiveComponent
{
public:
	static UClass* StaticClass();
};

class UCapsuleComponent : public UShapeComponent
{
public:
	static UClass* StaticClass();
	void SetCapsuleSize(float InRadius, float InHalfHeight, bool bUpdateOverlaps = true);
};
