// The module has no start-up code: its classes register themselves when it loads.
#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, PacaiGameplay)
