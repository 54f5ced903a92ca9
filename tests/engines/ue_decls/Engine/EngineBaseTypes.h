// Mirrors: Runtime/Engine/Classes/Engine/EngineBaseTypes.h (ELevelTick, EInputEvent,
// FTickFunction::bCanEverTick, FActorComponentTickFunction).
#pragma once
#include "CoreMinimal.h"

enum ELevelTick { LEVELTICK_TimeOnly = 0, LEVELTICK_ViewportsOnly = 1, LEVELTICK_All = 2, LEVELTICK_PauseTick = 3 };
enum EInputEvent { IE_Pressed = 0, IE_Released = 1, IE_Repeat = 2, IE_DoubleClick = 3, IE_Axis = 4, IE_MAX = 5 };

struct FTickFunction { uint8 bCanEverTick : 1; };
struct FActorComponentTickFunction : public FTickFunction {};
