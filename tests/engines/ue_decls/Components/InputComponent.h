// Mirrors: Runtime/Engine/Classes/Components/InputComponent.h (UInputComponent::BindAxis and
// BindAction: the member pointer type is a nested typedef of UserClass, so UserClass is deduced
// from Object alone and a base class's method, like ACharacter::Jump, binds).
#pragma once
#include "Components/ActorComponent.h"

template <typename UserClass, typename... Params>
struct TMirrorMethod { using FMethodPtr = void (UserClass::*)(Params...); };

struct FInputAxisBinding {};
struct FInputActionBinding {};

class UInputComponent : public UActorComponent
{
public:
	static UClass* StaticClass();
	template <class UserClass>
	FInputAxisBinding& BindAxis(const FName AxisName, UserClass* Object,
		typename TMirrorMethod<UserClass, float>::FMethodPtr Func);
	template <class UserClass>
	FInputActionBinding& BindAction(const FName ActionName, const EInputEvent KeyEvent, UserClass* Object,
		typename TMirrorMethod<UserClass>::FMethodPtr Func);
};
