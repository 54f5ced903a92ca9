// Mirrors: Runtime/CoreUObject/Public/UObject/ObjectMacros.h. The reflection macros expand to
// nothing outside UnrealHeaderTool; GENERATED_BODY() is the per-class body the generated header
// defines (PACAI_GENERATED_BODY, written by the test).
#pragma once
#define UCLASS(...)
#define UPROPERTY(...)
#define UFUNCTION(...)
#define GENERATED_BODY() PACAI_GENERATED_BODY
#define PACAIGAMEPLAY_API
