// Mirrors: Runtime/Core/Public/CoreMinimal.h (HAL/Platform.h, Containers/UnrealString.h,
// UObject/NameTypes.h, Math/Vector.h, Math/Rotator.h, Math/RotationMatrix.h, Math/Axis.h,
// Containers/Array.h, Logging/LogMacros.h, Delegates/DelegateCombinations.h,
// Math/UnrealMathUtility.h, GenericPlatform/GenericPlatformMath.h).
#pragma once
#include <cmath>
#include <cstdint>

using int32 = std::int32_t;
using uint8 = std::uint8_t;
using uint32 = std::uint32_t;
using TCHAR = char16_t;
#define TEXT(x) u##x

class FString
{
public:
	FString() = default;
	FString(const TCHAR*) {}
	const TCHAR* operator*() const { return u""; }
};

class FName
{
public:
	FName() = default;
	FName(const char*) {}
	FName(const TCHAR*) {}
};
inline const FName NAME_None;

namespace EAxis { enum Type { None, X, Y, Z }; }

struct FVector
{
	double X = 0, Y = 0, Z = 0;
	static const FVector ZeroVector;
	static double Dist(const FVector& V1, const FVector& V2) { return 0.0 * V1.X * V2.X; }
	FVector operator+(const FVector& V) const { return {X + V.X, Y + V.Y, Z + V.Z}; }
	template <typename FArg> FVector operator*(FArg Scale) const { return {X * Scale, Y * Scale, Z * Scale}; }
};
inline const FVector FVector::ZeroVector{};

// UnrealMathUtility.h (UE 5.x, as written there): the float and the double 2 pi.
// GenericPlatformMath.h: FMath::Sin(double) is the C library's sin; UnrealMathUtility.h
// declares FMath::Fmod(double, double), the remainder toward 0 (fmod).
#define UE_TWO_PI (6.28318530717f)
#define UE_DOUBLE_TWO_PI (6.28318530717958647692)
struct FMath
{
	static double Sin(double Value) { return std::sin(Value); }
	static double Fmod(double X, double Y) { return std::fmod(X, Y); }
};

struct FRotator
{
	double Pitch = 0, Yaw = 0, Roll = 0;
	FRotator() = default;
	FRotator(double InPitch, double InYaw, double InRoll) : Pitch(InPitch), Yaw(InYaw), Roll(InRoll) {}
};

class FRotationMatrix
{
public:
	explicit FRotationMatrix(const FRotator&) {}
	FVector GetUnitAxis(EAxis::Type) const { return {}; }
};

template <typename T>
class TArray
{
public:
	T* begin() { return nullptr; }
	T* end() { return nullptr; }
};

enum class ELogVerbosity : uint8 { NoLogging, Fatal, Error, Warning, Display, Log, Verbose, VeryVerbose, All };
struct FLogCategoryBase { ELogVerbosity Default, Compile; };
#define DEFINE_LOG_CATEGORY_STATIC(Name, Default, Compile) \
	static FLogCategoryBase Name{ELogVerbosity::Default, ELogVerbosity::Compile};
// Checks the category, the verbosity name and that the format is a TEXT() literal.
#define UE_LOG(Category, Verbosity, Format, ...) \
	((void)Category, (void)ELogVerbosity::Verbosity, (void)static_cast<const TCHAR*>(Format), \
	 ::UELogArgs(__VA_ARGS__))
template <typename... T> inline void UELogArgs(const T&...) {}

// A dynamic multicast delegate type with Broadcast(params...).
#define PACAI_MIRROR_DELEGATE(Name, ...) \
	struct Name { void Broadcast(__VA_ARGS__) const {} };
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(Name, T1, N1) PACAI_MIRROR_DELEGATE(Name, T1 N1)
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(Name, T1, N1, T2, N2) \
	PACAI_MIRROR_DELEGATE(Name, T1 N1, T2 N2)

#include "UObject/ObjectMacros.h"
#include "UObject/Object.h"
