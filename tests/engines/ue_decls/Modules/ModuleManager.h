// Mirrors: Runtime/Core/Public/Modules/ModuleManager.h (IMPLEMENT_MODULE, FDefaultModuleImpl)
// and Modules/ModuleInterface.h (IModuleInterface).
#pragma once

class IModuleInterface
{
public:
	virtual ~IModuleInterface() = default;
};
class FDefaultModuleImpl : public IModuleInterface {};

#define IMPLEMENT_MODULE(ModuleImplClass, ModuleName) \
	extern "C" IModuleInterface* InitializeModule##ModuleName() { return new ModuleImplClass(); }
