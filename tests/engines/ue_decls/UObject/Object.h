// Mirrors: Runtime/CoreUObject/Public/UObject/Object.h, UObject/Class.h, UObject/ObjectPtr.h,
// Templates/SubclassOf.h, UObject/UObjectGlobals.h (FObjectInitializer), Templates/Casts.h.
#pragma once
#include <type_traits>

class UClass;

class FObjectInitializer
{
public:
	static FObjectInitializer& Get();
};

class UObject
{
public:
	static UClass* StaticClass();
	virtual ~UObject() = default;
};

class UClass : public UObject {};

template <typename T>
class TObjectPtr
{
public:
	TObjectPtr() = default;
	TObjectPtr(T* In) : Ptr(In) {}
	T* Get() const { return Ptr; }
	T* operator->() const { return Ptr; }
	bool operator!=(std::nullptr_t) const { return Ptr != nullptr; }
	bool operator==(std::nullptr_t) const { return Ptr == nullptr; }
	operator T*() const { return Ptr; }
private:
	T* Ptr = nullptr;
};

template <typename T>
class TSubclassOf
{
public:
	TSubclassOf() = default;
	TSubclassOf(UClass* In) : Class(In) {}
private:
	UClass* Class = nullptr;
};

template <typename To, typename From>
To* Cast(From* Src)
{
	static_assert(std::is_base_of_v<UObject, To> && std::is_base_of_v<UObject, From>);
	return dynamic_cast<To*>(Src);
}

template <typename To, typename From>
const To* Cast(const From* Src)
{
	static_assert(std::is_base_of_v<UObject, To> && std::is_base_of_v<UObject, From>);
	return dynamic_cast<const To*>(Src);
}
