// The runtime module of the PacaiGameplay plugin (ModuleRules, UnrealBuildTool).
using UnrealBuildTool;

public class PacaiGameplay : ModuleRules
{
	public PacaiGameplay(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "InputCore" });
	}
}
