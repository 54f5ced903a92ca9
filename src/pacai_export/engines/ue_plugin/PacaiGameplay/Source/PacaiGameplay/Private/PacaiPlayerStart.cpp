#include "PacaiPlayerStart.h"

APacaiPlayerStart::APacaiPlayerStart(const FObjectInitializer& ObjectInitializer)
	: Super(ObjectInitializer)
{
}
