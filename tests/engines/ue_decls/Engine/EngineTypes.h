// Mirrors: Runtime/Engine/Classes/Engine/EngineTypes.h (FAttachmentTransformRules, ETeleportType).
#pragma once
#include "CoreMinimal.h"

struct FAttachmentTransformRules
{
	static const FAttachmentTransformRules KeepRelativeTransform;
	static const FAttachmentTransformRules KeepWorldTransform;
	static const FAttachmentTransformRules SnapToTargetNotIncludingScale;
	static const FAttachmentTransformRules SnapToTargetIncludingScale;
};

enum class ETeleportType : uint8 { None, TeleportPhysics, ResetPhysics };
