"""A recording stand-in for Unreal's ``unreal`` module and a UE project written to open with it,
shared by the UE bootstrap tests.

``RecordingUnrealStandIn`` is NOT Unreal: it is a strict fake that knows only the UE 5.4 Python
API names listed below (each checked against Epic's Python API reference, see ``API``), records
every call the bootstrap makes, and keeps a tiny model of the editor (assets, levels, actors)
so that the calls can be checked against the manifest. Any attribute the bootstrap touches that
is not in the list is recorded as a violation and fails the test.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pacai_export.engines import write_engine
from pacai_export.engines.base import BuildContext, Files
from pacai_export.files import AssetFile
from pacai_export.manifest import Manifest

# --- the UE 5.4 API surface the stand-in accepts ---------------------------------------------
# Names from Epic's Python API reference (dev.epicgames.com/documentation/en-us/unreal-engine/
# python-api/, application_version=5.4) and the C++ headers it is generated from:
# LevelEditorSubsystem.new_level/save_current_level/load_level (LevelEditorSubsystem.h),
# EditorActorSubsystem.spawn_actor_from_class (EditorActorSubsystem.h), AssetImportTask
# properties (AssetImportTask.h), MaterialEditingLibrary (MaterialEditingLibrary.h),
# Rotator(roll, pitch, yaw), Actor.set_folder_path (Actor.h), USkyLightComponent::SetLightColor,
# ULocalLightComponent::SetAttenuationRadius, USpotLightComponent::SetInner/OuterConeAngle,
# UTexture's SRGB and CompressionSettings (Texture.h; TextureCompressionSettings in
# TextureDefines.h). The names for master materials, collider shapes, movement components,
# the subobject data subsystem and body setup were taken from UE 5.6's generated stub (PyPI
# unreal-stub), which test_unreal_stub.py type-checks the whole bootstrap against.

# class name -> (base, methods, editor properties)
API: dict[str, tuple[str | None, set[str], set[str]]] = {
    "Object": (None, {"set_editor_property", "get_editor_property", "get_name",
                      "get_path_name", "get_class"}, set()),
    # assets
    "StaticMesh": ("Object", set(), {"body_setup"}),
    "BodySetup": ("Object", set(), {"collision_trace_flag"}),
    "Class": ("Object", set(), set()),
    "Texture": ("Object", set(), {"srgb", "compression_settings"}),
    "Texture2D": ("Texture", set(), set()),
    "SoundWave": ("Object", set(), {"looping", "volume"}),
    "MaterialInterface": ("Object", set(), set()),
    "Material": ("MaterialInterface", set(), {"blend_mode", "translucency_lighting_mode",
                                              "shading_model", "two_sided", "is_sky"}),
    "MaterialExpression": ("Object", set(), set()),
    "MaterialExpressionParameter": ("MaterialExpression", set(), {"parameter_name"}),
    "MaterialExpressionVectorParameter": ("MaterialExpressionParameter", set(),
                                          {"default_value"}),
    "MaterialExpressionScalarParameter": ("MaterialExpressionParameter", set(),
                                          {"default_value"}),
    "MaterialExpressionTextureSampleParameter2D": ("MaterialExpressionParameter", set(),
                                                   {"texture", "sampler_type"}),
    "MaterialExpressionMultiply": ("MaterialExpression", set(), set()),
    "MaterialFactoryNew": ("Factory", set(), set()),
    "MaterialInstanceConstant": ("MaterialInterface", set(), {"parent"}),
    "Factory": ("Object", set(), set()),
    "MaterialInstanceConstantFactoryNew": ("Factory", set(), {"initial_parent"}),
    "AssetImportTask": ("Object", set(), {"filename", "destination_path", "destination_name",
                                          "automated", "replace_existing",
                                          "replace_existing_settings", "save", "options",
                                          "factory", "imported_object_paths", "result"}),
    "AssetTools": ("Object", {"import_asset_tasks", "create_asset", "import_assets_automated"},
                   set()),
    # subsystems
    "EditorSubsystem": ("Object", set(), set()),
    "EngineSubsystem": ("Object", set(), set()),
    "SubobjectDataSubsystem": ("EngineSubsystem", {"k2_gather_subobject_data_for_instance",
                                                   "add_new_subobject"}, set()),
    "LevelEditorSubsystem": ("EditorSubsystem", {"new_level", "save_current_level",
                                                 "load_level", "save_all_dirty_levels",
                                                 "get_current_level"}, set()),
    "UnrealEditorSubsystem": ("EditorSubsystem", {"get_editor_world"}, set()),
    "World": ("Object", {"get_world_settings"}, set()),
    "EditorActorSubsystem": ("EditorSubsystem", {"spawn_actor_from_class",
                                                 "spawn_actor_from_object",
                                                 "get_all_level_actors", "destroy_actor"},
                             set()),
    # actors
    "Actor": ("Object", {"set_actor_scale3d", "set_actor_label", "get_actor_label",
                         "set_folder_path", "get_folder_path", "get_component_by_class",
                         "set_actor_location", "set_actor_rotation", "get_actor_location",
                         "get_actor_rotation", "get_actor_scale3d", "set_actor_hidden_in_game",
                         "attach_to_actor"},
              {"tags", "root_component"}),
    "StaticMeshActor": ("Actor", set(), {"static_mesh_component"}),
    "Light": ("Actor", set(), {"light_component"}),
    "DirectionalLight": ("Light", set(), set()),
    "PointLight": ("Light", set(), set()),
    "SpotLight": ("Light", set(), set()),
    "SkyLight": ("Actor", set(), {"light_component"}),
    "CameraActor": ("Actor", set(), {"camera_component", "auto_activate_for_player"}),
    "PlayerStart": ("Actor", set(), set()),
    "TriggerBase": ("Actor", set(), {"collision_component"}),
    "TriggerBox": ("TriggerBase", set(), set()),
    "TriggerSphere": ("TriggerBase", set(), set()),
    "TriggerCapsule": ("TriggerBase", set(), set()),
    "TargetPoint": ("Actor", set(), set()),
    "AmbientSound": ("Actor", set(), {"audio_component"}),
    "WorldSettings": ("Actor", set(), {"default_game_mode"}),
    "GameModeBase": ("Actor", set(), set()),
    # components
    "ActorComponent": ("Object", {"activate", "deactivate"}, {"auto_activate"}),
    "SceneComponent": ("ActorComponent", {"set_mobility"}, {"mobility"}),
    "PrimitiveComponent": ("SceneComponent", {"set_collision_profile_name",
                                              "set_collision_enabled", "set_simulate_physics",
                                              "set_material", "set_cast_shadow"},
                           {"generate_overlap_events"}),
    "MeshComponent": ("PrimitiveComponent", set(), set()),
    "StaticMeshComponent": ("MeshComponent", {"set_static_mesh"}, {"static_mesh"}),
    "ShapeComponent": ("PrimitiveComponent", set(), set()),
    "BoxComponent": ("ShapeComponent", {"set_box_extent"}, set()),
    "CapsuleComponent": ("ShapeComponent", {"set_capsule_size"}, set()),
    "SphereComponent": ("ShapeComponent", {"set_sphere_radius"}, set()),
    "LightComponentBase": ("SceneComponent", {"set_cast_shadows"}, {"intensity", "light_color"}),
    "LightComponent": ("LightComponentBase", {"set_intensity", "set_light_color"}, set()),
    "LocalLightComponent": ("LightComponent", {"set_attenuation_radius"},
                            {"attenuation_radius"}),
    "PointLightComponent": ("LocalLightComponent", set(), set()),
    "SpotLightComponent": ("PointLightComponent", {"set_inner_cone_angle",
                                                   "set_outer_cone_angle"}, set()),
    "DirectionalLightComponent": ("LightComponent", set(), set()),
    "SkyLightComponent": ("LightComponentBase", {"set_intensity", "set_light_color",
                                                 "set_real_time_capture"},
                          {"source_type", "lower_hemisphere_is_black"}),
    "MovementComponent": ("ActorComponent", set(), set()),
    "RotatingMovementComponent": ("MovementComponent", set(),
                                  {"rotation_rate", "rotation_in_local_space",
                                   "pivot_translation"}),
    "InterpToMovementComponent": ("MovementComponent", set(),
                                  {"control_points", "duration", "behaviour_type"}),
    "CameraComponent": ("SceneComponent", {"set_field_of_view", "set_projection_mode",
                                           "set_ortho_width"},
                        {"field_of_view", "projection_mode", "ortho_width"}),
    "AudioComponent": ("SceneComponent", {"set_sound", "play"},
                       {"sound", "volume_multiplier"}),
}


# The PacaiGameplay plugin's classes as its headers declare them (UPROPERTY names in the
# snake_case UE's Python gives them; test_unreal_components.py checks them against the
# headers). load_class finds them only when a test opens the editor with the plugin built.
PLUGIN_API: dict[str, tuple[str | None, set[str], set[str]]] = {
    "PacaiGameMode": ("GameModeBase", set(), set()),
    "PacaiPlayerStart": ("PlayerStart", set(), {"walk_speed", "jump_velocity", "body",
                                                "capsule_radius", "capsule_half_height"}),
    "PacaiPickupComponent": ("ActorComponent", set(), {"value", "radius"}),
    "PacaiTriggerComponent": ("ActorComponent", set(), {"event_name"}),
    "PacaiBobComponent": ("ActorComponent", set(), {"amplitude", "frequency"}),
}


# static function libraries: class name -> functions
LIBRARIES: dict[str, set[str]] = {
    "EditorAssetLibrary": {"does_asset_exist", "list_assets", "load_asset", "save_loaded_asset",
                           "save_asset", "make_directory", "does_directory_exist"},
    "AssetToolsHelpers": {"get_asset_tools"},
    "MaterialEditingLibrary": {"set_material_instance_parent",
                               "set_material_instance_vector_parameter_value",
                               "set_material_instance_scalar_parameter_value",
                               "set_material_instance_texture_parameter_value",
                               "update_material_instance", "create_material_expression",
                               "connect_material_expressions", "connect_material_property",
                               "recompile_material"},
    "SubobjectDataBlueprintFunctionLibrary": {"get_data", "get_object"},
    "Paths": {"project_dir", "project_saved_dir", "project_content_dir",
              "convert_relative_path_to_full"},
}


ENUMS: dict[str, set[str]] = {
    "ComponentMobility": {"STATIC", "STATIONARY", "MOVABLE"},
    "CameraProjectionMode": {"PERSPECTIVE", "ORTHOGRAPHIC"},
    "TextureCompressionSettings": {"TC_DEFAULT", "TC_NORMALMAP", "TC_MASKS", "TC_GRAYSCALE"},
    "BlendMode": {"BLEND_OPAQUE", "BLEND_TRANSLUCENT"},
    "TranslucencyLightingMode": {"TLM_VOLUMETRIC_NON_DIRECTIONAL", "TLM_SURFACE"},
    "MaterialShadingModel": {"MSM_DEFAULT_LIT", "MSM_UNLIT"},
    "MaterialSamplerType": {"SAMPLERTYPE_COLOR", "SAMPLERTYPE_NORMAL"},
    "MaterialProperty": {"MP_BASE_COLOR", "MP_METALLIC", "MP_ROUGHNESS", "MP_EMISSIVE_COLOR",
                         "MP_NORMAL", "MP_OPACITY"},
    "SkyLightSourceType": {"SLS_CAPTURED_SCENE", "SLS_SPECIFIED_CUBEMAP"},
    "AttachmentRule": {"KEEP_RELATIVE", "KEEP_WORLD", "SNAP_TO_TARGET"},
    "AutoReceiveInput": {"DISABLED", "PLAYER0"},
    "InterpToBehaviourType": {"ONE_SHOT", "ONE_SHOT_REVERSE", "LOOP_RESET", "PING_PONG"},
    "CollisionTraceFlag": {"CTF_USE_DEFAULT", "CTF_USE_SIMPLE_AND_COMPLEX",
                           "CTF_USE_SIMPLE_AS_COMPLEX", "CTF_USE_COMPLEX_AS_SIMPLE"},
}


FUNCTIONS = {"get_editor_subsystem", "get_engine_subsystem", "load_class", "log", "log_warning",
             "log_error", "register_slate_post_tick_callback",
             "unregister_slate_post_tick_callback"}


STRUCTS = {"Vector": ("x", "y", "z"), "Rotator": ("roll", "pitch", "yaw"),
           "Quat": ("x", "y", "z", "w"), "LinearColor": ("r", "g", "b", "a")}


# the components each actor class comes with (what get_component_by_class can find)
ACTOR_COMPONENTS = {
    "StaticMeshActor": ["StaticMeshComponent"], "DirectionalLight": ["DirectionalLightComponent"],
    "PointLight": ["PointLightComponent"], "SpotLight": ["SpotLightComponent"],
    "SkyLight": ["SkyLightComponent"], "CameraActor": ["CameraComponent"],
    "PlayerStart": ["CapsuleComponent"], "TriggerBox": ["BoxComponent"],
    "TriggerSphere": ["SphereComponent"], "TriggerCapsule": ["CapsuleComponent"],
    "TargetPoint": ["SceneComponent"], "AmbientSound": ["AudioComponent"],
}


ENGINE_ASSETS = {"/Engine/BasicShapes/Cube": "StaticMesh",
                 "/Engine/BasicShapes/Sphere": "StaticMesh",
                 "/Engine/BasicShapes/Plane": "StaticMesh",
                 "/Engine/BasicShapes/Cylinder": "StaticMesh",
                 "/Engine/BasicShapes/BasicShapeMaterial": "Material",
                 "/Engine/EngineResources/WhiteSquareTexture": "Texture2D",
                 "/Engine/EngineMaterials/FlatNormal": "Texture2D"}


@dataclasses.dataclass
class Call:
    target: str  # "unreal", a class/library name, or "<Class #n>" for an instance
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class _Struct:
    """A UE struct value (Vector, Rotator, LinearColor, Quat) with named fields."""

    type_name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: float, **kwargs: float) -> None:
        assert len(args) <= len(self.fields), f"{self.type_name}{args}: too many arguments"
        unknown = set(kwargs) - set(self.fields)
        assert not unknown, f"{self.type_name} has no field {unknown}"
        values = dict.fromkeys(self.fields, 0.0)
        values.update(zip(self.fields, args, strict=False))
        values.update(kwargs)
        for key, value in values.items():
            assert isinstance(value, int | float) and math.isfinite(value), (self.type_name, key)
            setattr(self, key, float(value))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f):g}" for f in self.fields)
        return f"{self.type_name}({inner})"


class Name(str):
    """unreal.Name: a string-like value."""


class RecordingUnrealStandIn(types.ModuleType):
    """A recording stand-in for the ``unreal`` module (not Unreal; see the module docstring)."""

    def __init__(self, project: Path) -> None:
        super().__init__("unreal")
        self._project = project
        self.calls: list[Call] = []
        self.used: set[str] = set()
        self.violations: list[str] = []
        self.assets: dict[str, Any] = {}  # asset path (no object suffix) -> object
        self.levels: dict[str, list[Any]] = {}
        self.saved_levels: list[str] = []
        self.current_level: str | None = None
        self.loaded_level: str | None = None
        self.tick_callbacks: dict[int, Callable[[float], None]] = {}
        self.logs: list[tuple[str, str]] = []
        self.plugin = False  # whether the PacaiGameplay plugin is built and loaded
        self._classes: dict[str, type[StandInObject]] = {}
        self._counter = 0
        for name in API:
            self._class(name)
        for path, cls in ENGINE_ASSETS.items():
            self.assets[path] = self._new(cls, path=path)

    # -- strict attribute access on the module ---------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self.used.add(f"unreal.{name}")
        if name in API:
            return self._class(name)
        if name in LIBRARIES:
            return _Library(self, name)
        if name in ENUMS:
            return _Enum(self, name)
        if name in STRUCTS:
            fields = STRUCTS[name]
            return type(name, (_Struct,), {"type_name": name, "fields": fields})
        if name == "Name":
            return Name
        if name == "Array":
            return _Array
        if name == "AddNewSubobjectParams":
            return _AddNewSubobjectParams
        if name == "InterpControlPoint":
            return _InterpControlPoint
        if name in FUNCTIONS:
            return self._recorder("unreal", name, getattr(self, "_fn_" + name))
        self.violations.append(f"unreal.{name}")
        raise AttributeError(f"module 'unreal' has no attribute {name!r} (not in UE 5.4's API)")

    def _recorder(self, target: str, name: str, impl: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(Call(target, name, args, kwargs))
            return impl(*args, **kwargs)
        return call

    # -- the classes -------------------------------------------------------------------------

    def _class(self, name: str) -> type[StandInObject]:
        if name not in self._classes:
            base_name, _, _ = API[name]
            base = self._class(base_name) if base_name else StandInObject
            self._classes[name] = type(name, (base,), {"ue_name": name, "standin": self})
        return self._classes[name]

    def _new(self, cls_name: str, **state: Any) -> Any:
        self._counter += 1
        cls = self._class(cls_name)
        obj = object.__new__(cls)
        object.__setattr__(obj, "_id", self._counter)
        object.__setattr__(obj, "props", {})
        object.__setattr__(obj, "state", dict(state))
        return obj

    # -- module functions ------------------------------------------------------------------

    def _fn_get_editor_subsystem(self, cls: type[StandInObject]) -> Any:
        assert isinstance(cls, type) and issubclass(cls, self._class("EditorSubsystem")), cls
        key = "subsystem:" + cls.ue_name
        if key not in self.assets:
            self.assets[key] = self._new(cls.ue_name)
        return self.assets[key]

    def _fn_get_engine_subsystem(self, cls: type[StandInObject]) -> Any:
        assert isinstance(cls, type) and issubclass(cls, self._class("EngineSubsystem")), cls
        key = "subsystem:" + cls.ue_name
        if key not in self.assets:
            self.assets[key] = self._new(cls.ue_name)
        return self.assets[key]

    def _fn_load_class(self, outer: Any, name: str) -> type[StandInObject] | None:
        """A class of a loaded C++ module: the PacaiGameplay plugin's only when it is built."""
        assert outer is None and name.startswith("/Script/"), name
        module, _, short = name[len("/Script/"):].partition(".")
        if self.plugin and module == "PacaiGameplay" and short in PLUGIN_API:
            return self._class(short)
        return None

    def _fn_log(self, message: str) -> None:
        self.logs.append(("log", str(message)))

    def _fn_log_warning(self, message: str) -> None:
        self.logs.append(("warning", str(message)))

    def _fn_log_error(self, message: str) -> None:
        self.logs.append(("error", str(message)))

    def _fn_register_slate_post_tick_callback(self, callback: Callable[[float], None]) -> int:
        handle = len(self.tick_callbacks) + 1
        self.tick_callbacks[handle] = callback
        return handle

    def _fn_unregister_slate_post_tick_callback(self, handle: int) -> None:
        assert handle in self.tick_callbacks, "unregistering an unknown handle"
        del self.tick_callbacks[handle]

    def tick(self) -> None:
        """One editor frame: run the registered post-tick callbacks."""
        for callback in list(self.tick_callbacks.values()):
            callback(0.016)

    # -- library functions -----------------------------------------------------------------

    def lib(self, library: str, name: str, *args: Any, **kwargs: Any) -> Any:
        if library == "Paths":
            if name == "convert_relative_path_to_full":
                return args[0]
            return {"project_dir": str(self._project) + "/",
                    "project_saved_dir": str(self._project / "Saved") + "/",
                    "project_content_dir": str(self._project / "Content") + "/"}[name]
        if library == "AssetToolsHelpers":
            return self._fn_get_editor_subsystem_like("AssetTools")
        if library == "EditorAssetLibrary":
            if name in ("save_loaded_asset", "save_asset"):
                assert isinstance(args[0], StandInObject if name == "save_loaded_asset" else str)
                return True
            path = _asset_path(args[0])
            if name == "does_asset_exist":
                return path in self.assets
            if name == "load_asset":
                return self.assets.get(path)
            if name == "list_assets":
                recursive = args[1] if len(args) > 1 else kwargs.get("recursive", True)
                assert recursive in (True, False)
                return [f"{p}.{p.rsplit('/', 1)[1]}" for p in sorted(self.assets)
                        if p.startswith(path.rstrip("/") + "/")]
            return None
        if library == "MaterialEditingLibrary":
            return self._material_editing(name, *args)
        if library == "SubobjectDataBlueprintFunctionLibrary":
            assert isinstance(args[0], _Handle), args
            return args[0] if name == "get_data" else args[0].target
        return None

    def _material_editing(self, name: str, *args: Any) -> Any:
        """A model of the material graph and the instances' parameter values."""
        if name == "create_material_expression":
            material, cls = args[0], args[1]
            assert type(material).__name__ == "Material", material
            assert isinstance(cls, type) and issubclass(cls, self._class("MaterialExpression"))
            node = self._new(cls.ue_name, material=material, inputs={})
            material.state.setdefault("expressions", []).append(node)
            return node
        if name == "connect_material_expressions":
            source, output, target, target_input = args
            assert source.state["material"] is target.state["material"]
            target.state["inputs"][target_input] = (source, output)
            return True
        if name == "connect_material_property":
            source, output, prop = args
            source.state["material"].state.setdefault("properties", {})[prop] = (source, output)
            return True
        if name == "set_material_instance_parent":
            args[0].state["parent"] = args[1]
        elif name.startswith("set_material_instance_") and name.endswith("_value"):
            instance, param, value = args
            assert isinstance(param, Name), f"{name}: the parameter name is an unreal.Name"
            instance.state.setdefault("params", {})[str(param)] = value
        return None

    def _fn_get_editor_subsystem_like(self, cls_name: str) -> Any:
        key = "singleton:" + cls_name
        if key not in self.assets:
            self.assets[key] = self._new(cls_name)
        return self.assets[key]

    # -- instance methods with behaviour ---------------------------------------------------

    def method(self, obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        cls = obj.ue_name
        if cls == "AssetTools" and name == "import_asset_tasks":
            for task in args[0]:
                self._import(task)
            return None
        if cls == "AssetTools" and name == "create_asset":
            asset_name, package, asset_cls, _factory = args
            assert isinstance(asset_cls, type) and issubclass(asset_cls, StandInObject), asset_cls
            created = self._new(asset_cls.ue_name)
            self.assets[f"{package.rstrip('/')}/{asset_name}"] = created
            return created
        if cls == "LevelEditorSubsystem":
            if name == "new_level":
                path = args[0]
                assert path.startswith("/Game/") and path not in self.assets, path
                self.assets[path] = self._new("Object", level=path)
                self.levels[path] = []
                self.current_level = path
            elif name == "save_current_level":
                assert self.current_level is not None
                self.saved_levels.append(self.current_level)
            elif name == "load_level":
                assert _asset_path(args[0]) in self.levels, args[0]
                self.loaded_level = _asset_path(args[0])
            return True
        if cls == "EditorActorSubsystem" and name == "spawn_actor_from_class":
            actor_cls, location, rotation = args[:3]
            assert isinstance(actor_cls, type) and issubclass(actor_cls, self._class("Actor"))
            assert type(location).__name__ == "Vector", location
            assert type(rotation).__name__ == "Rotator", rotation
            assert self.current_level is not None, "spawning with no level open"
            actor = self._new(actor_cls.ue_name, location=location, rotation=rotation,
                              level=self.current_level)
            actor.state["components"] = [self._new(c, owner=actor)
                                         for c in ACTOR_COMPONENTS[actor_cls.ue_name]]
            self.levels[self.current_level].append(actor)
            return actor
        if cls == "SubobjectDataSubsystem":
            return self._subobjects(name, *args)
        if cls == "UnrealEditorSubsystem" and name == "get_editor_world":
            assert self.current_level is not None, "no level open"
            return self._fn_get_editor_subsystem_like("World")
        if cls == "World" and name == "get_world_settings":
            assert self.current_level is not None, "no level open"
            key = "world settings:" + self.current_level
            if key not in self.assets:
                self.assets[key] = self._new("WorldSettings", level=self.current_level)
            return self.assets[key]
        if name == "get_component_by_class":
            wanted = args[0]
            return next((c for c in obj.state["components"] if isinstance(c, wanted)), None)
        if name == "set_actor_scale3d":
            assert type(args[0]).__name__ == "Vector"
            obj.state["scale"] = args[0]
        elif name == "set_actor_label":
            obj.state["label"] = args[0]
        elif name == "set_folder_path":
            obj.state["folder"] = str(args[0])
        elif name.startswith("set_") and name != "set_editor_property":
            obj.state.setdefault("set", {})[name] = args
        return None

    def _subobjects(self, name: str, *args: Any) -> Any:
        """Adding components to a placed actor: handles name the actor's root or a component."""
        if name == "k2_gather_subobject_data_for_instance":
            actor = args[0]
            assert isinstance(actor, self._class("Actor")), actor
            return [_Handle(actor)] + [_Handle(c) for c in actor.state["components"]]
        params = args[0]
        assert isinstance(params, _AddNewSubobjectParams), params
        parent = params.parent_handle.target
        assert isinstance(parent, self._class("Actor")), "new components go on the root"
        cls = params.new_class
        assert isinstance(cls, type) and issubclass(cls, self._class("ActorComponent")), cls
        component = self._new(cls.ue_name, owner=parent)
        parent.state["components"].append(component)
        return (_Handle(component), _Text(""))

    def _import(self, task: Any) -> None:
        filename = task.props.get("filename")
        destination = task.props.get("destination_path")
        assert filename and os.path.isfile(filename), f"import of a missing file {filename}"
        assert destination and destination.startswith("/Game/"), destination
        assert task.props.get("automated") is True, "an import without automated=True opens dialogs"
        stem, ext = os.path.splitext(os.path.basename(filename))
        made = {".glb": ["StaticMesh", "MaterialInstanceConstant"], ".gltf": ["StaticMesh"],
                ".png": ["Texture2D"], ".jpg": ["Texture2D"], ".jpeg": ["Texture2D"],
                ".wav": ["SoundWave"], ".ogg": ["SoundWave"]}[ext.lower()]
        for index, cls in enumerate(made):
            name = stem if index == 0 else f"{stem}_{cls}"
            created = self._new(cls, source=filename)
            if cls == "StaticMesh":  # an imported mesh has its physics body set up
                created.props["body_setup"] = self._new("BodySetup")
            self.assets[f"{destination.rstrip('/')}/{name}"] = created

    # -- reading the record ----------------------------------------------------------------

    def actors(self) -> list[Any]:
        return [a for level in self.levels.values() for a in level]


class StandInObject:
    """Base of the stand-in's UE classes: attributes outside the class's API are refused."""

    ue_name: ClassVar[str] = "Object"
    standin: ClassVar[RecordingUnrealStandIn]
    props: dict[str, Any]
    state: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Constructing a UObject from Python (unreal.AssetImportTask()) is allowed.
        assert not args and not kwargs, f"{self.ue_name}() takes no arguments here"
        self.standin.calls.append(Call(self.ue_name, "__init__", (), {}))
        object.__setattr__(self, "props", {})
        object.__setattr__(self, "state", {})
        self.standin._counter += 1
        object.__setattr__(self, "_id", self.standin._counter)

    @classmethod
    def static_class(cls) -> type[StandInObject]:
        """The UClass of a Python-side class (here: the class itself)."""
        cls.standin.used.add(f"{cls.ue_name}.static_class")
        return cls

    @classmethod
    def _lookup(cls, name: str) -> str | None:
        found = cls._owner(name)
        return found[0] if found else None

    @classmethod
    def _owner(cls, name: str) -> tuple[str, str] | None:
        """("method" | "property", the UE class that declares ``name``), or None."""
        for klass in cls.__mro__:
            owner = klass.__dict__.get("ue_name")
            spec = API.get(owner or "")
            if owner is None or spec is None:
                continue
            if name in spec[1]:
                return "method", owner
            if name in spec[2]:
                return "property", owner
        return None

    def _use(self, name: str) -> None:
        found = self._owner(name)
        assert found is not None
        self.standin.used.add(f"{found[1]}.{name}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        kind = self._lookup(name)
        standin = self.standin
        if kind is None:
            standin.violations.append(f"{self.ue_name}.{name}")
            raise AttributeError(f"{self.ue_name} has no attribute {name!r} (not in UE 5.4)")
        self._use(name)
        if kind == "property":  # reading a component property of an actor
            if name.endswith("_component"):
                return self.state["components"][0]
            return self.props.get(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            standin.calls.append(Call(f"<{self.ue_name} #{self._id}>", name, args, kwargs))
            if name in ("set_editor_property", "get_editor_property"):
                prop = args[0]
                if self._lookup(prop) != "property":
                    standin.violations.append(f"{self.ue_name}.{prop} (editor property)")
                    raise Exception(f"{self.ue_name} has no editor property {prop!r}")
                self._use(prop)
                if name == "get_editor_property":
                    return self.props.get(prop)
                self.props[prop] = args[1]
                return None
            return standin.method(self, name, *args, **kwargs)
        return call

    def __setattr__(self, name: str, value: Any) -> None:
        if self._lookup(name) != "property":
            self.standin.violations.append(f"{self.ue_name}.{name} = ...")
            raise AttributeError(f"{self.ue_name} has no property {name!r}")
        self._use(name)
        self.props[name] = value


class _Handle:
    """unreal.SubobjectDataHandle (and the SubobjectData it leads to)."""

    def __init__(self, target: Any) -> None:
        self.target = target


class _Text(str):
    """unreal.Text."""

    def is_empty(self) -> bool:
        return not self


class _AddNewSubobjectParams:
    """unreal.AddNewSubobjectParams(parent_handle, new_class, ...)."""

    def __init__(self, parent_handle: Any = None, new_class: Any = None,
                 blueprint_context: Any = None, skip_mark_blueprint_modified: bool = False,  # noqa: ARG002 (the double keeps the real signature)
                 conform_transform_to_parent: bool = False) -> None:  # noqa: ARG002 (the double keeps the real signature)
        assert isinstance(parent_handle, _Handle), parent_handle
        assert blueprint_context is None, "an instance, not a Blueprint"
        self.parent_handle, self.new_class = parent_handle, new_class


class _InterpControlPoint:
    """unreal.InterpControlPoint(position_control_point, position_is_relative)."""

    def __init__(self, position_control_point: Any, position_is_relative: bool = False) -> None:
        assert type(position_control_point).__name__ == "Vector", position_control_point
        assert isinstance(position_is_relative, bool)
        self.position, self.relative = position_control_point, position_is_relative


class _Array:
    """unreal.Array: ``cast(type, items)`` gives a typed array (here: a checked list)."""

    @staticmethod
    def cast(cls: type, items: Any) -> list[Any]:
        assert all(isinstance(item, cls) for item in items), (cls, items)
        return list(items)


class _Library:
    def __init__(self, standin: RecordingUnrealStandIn, name: str) -> None:
        self._standin, self._name = standin, name

    def __getattr__(self, name: str) -> Any:
        if name not in LIBRARIES[self._name]:
            self._standin.violations.append(f"{self._name}.{name}")
            raise AttributeError(f"unreal.{self._name} has no {name!r} (not in UE 5.4)")
        self._standin.used.add(f"{self._name}.{name}")
        return self._standin._recorder(
            self._name, name, lambda *a, **k: self._standin.lib(self._name, name, *a, **k))


class _Enum:
    def __init__(self, standin: RecordingUnrealStandIn, name: str) -> None:
        self._standin, self._name = standin, name

    def __getattr__(self, value: str) -> str:
        if value not in ENUMS[self._name]:
            self._standin.violations.append(f"{self._name}.{value}")
            raise AttributeError(f"unreal.{self._name} has no {value!r}")
        self._standin.used.add(f"{self._name}.{value}")
        return f"{self._name}.{value}"


def _asset_path(path: str) -> str:
    """``/Game/A/B.B`` -> ``/Game/A/B`` (object paths and package paths name one asset)."""
    head, _, tail = path.rpartition("/")
    return f"{head}/{tail.split('.', 1)[0]}" if head else path


@dataclasses.dataclass
class Project:
    root: Path
    files: Files
    manifest: Manifest
    scene: dict[str, Any]


def write_project(tmp_path: Path, data: dict[str, Any]) -> Project:
    manifest = Manifest.model_validate(data)
    src = tmp_path / "src"
    src.mkdir()
    assets: dict[str, AssetFile] = {}
    for asset in manifest.assets:
        if asset.id == "mdl_rock":
            continue  # not shipped: a placeholder box sized from its bounds
        ext = {"model": ".glb", "texture": ".png", "audio": ".wav"}[asset.type]
        (src / f"{asset.id}{ext}").write_bytes(b"stand-in bytes")
        assets[asset.id] = AssetFile(asset.id, f"{asset.id}{ext}", src / f"{asset.id}{ext}")
    files = write_engine("ue5", BuildContext(manifest, "ue-seed", "high", True, assets))
    root = tmp_path / "UECheck"
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
    scene = json.loads((root / "SourceArt/scene.json").read_text("utf-8"))
    return Project(root, files, manifest, scene)


def open_editor(project: Path, monkeypatch: pytest.MonkeyPatch,
                plugin: bool = False) -> RecordingUnrealStandIn:
    """What the editor does on open: import the startup script, then tick. ``plugin``: the
    PacaiGameplay plugin was enabled and compiled, so its classes exist."""
    standin = RecordingUnrealStandIn(project)
    if plugin:
        standin.plugin = True
        for name, spec in PLUGIN_API.items():
            monkeypatch.setitem(API, name, spec)
        monkeypatch.setitem(ACTOR_COMPONENTS, "PacaiPlayerStart", ["CapsuleComponent"])
    monkeypatch.setitem(sys.modules, "unreal", standin)
    path = project / "Content/Python/pacai_bootstrap.py"
    spec = importlib.util.spec_from_file_location("pacai_bootstrap_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(standin.tick_callbacks) == 1, "the bootstrap waits for the first editor tick"
    standin.tick()
    standin.tick()  # a second frame: the callback unregistered itself, nothing runs twice
    assert not standin.tick_callbacks
    return standin
