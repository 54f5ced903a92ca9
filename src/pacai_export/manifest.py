"""Manifest v1 (§10): the engine-neutral project, as typed models with full validation.

Shape errors come from pydantic, reference errors (unknown parent, material, asset or main
scene; duplicate ids; parent cycles) from ``Manifest._references``. Every problem is reported
with its JSON path, all of them in one ``InvalidManifest``.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import InvalidManifest, LimitExceeded, field_errors, format_errors, validation_errors
from .gcpause import paused
from .jsonlimits import check_json, load_json
from .settings import Limits

SCHEMA_ID = "pacai.manifest/v1"
ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"

Id = Annotated[str, Field(pattern=ID_PATTERN)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Vec2 = tuple[Positive, Positive]
Vec3 = tuple[Finite, Finite, Finite]
Size3 = tuple[Positive, Positive, Positive]
Color3 = tuple[Unit, Unit, Unit]
Color4 = tuple[Unit, Unit, Unit, Unit]


class _Strict(BaseModel):
    """A manifest object: unknown fields are errors, parsed objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _share_fields_set(self) -> Self:
        # Every model keeps the set of the fields its input gave (~0.2-0.7 KB each, three or
        # more a node); nodes of a big scene give the same few sets. The models are frozen,
        # so no set is changed in place (model_copy copies it first): one set per distinct
        # content is shared, which keeps ~1.1 KB a node less (docs/performance.md).
        fields_set = self.__pydantic_fields_set__
        key = frozenset(fields_set)
        shared = _FIELDS_SETS.get(key)
        if shared is None and len(_FIELDS_SETS) < _MAX_FIELDS_SETS:
            _FIELDS_SETS[key] = shared = fields_set
        if shared is not None and shared is not fields_set:
            object.__setattr__(self, "__pydantic_fields_set__", shared)
        return self


# The distinct fields sets seen, shared by all models: a handful per model class in practice;
# bounded, since a hostile manifest could combine optional fields in many ways (past the
# bound, models keep their own sets, as pydantic makes them).
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_MAX_FIELDS_SETS = 4096


class Transform(_Strict):
    translation: Vec3 = (0.0, 0.0, 0.0)
    rotation: tuple[Finite, Finite, Finite, Finite] = (0.0, 0.0, 0.0, 1.0)
    scale: Vec3 = (1.0, 1.0, 1.0)

    @field_validator("rotation")
    @classmethod
    def _unit_quaternion(cls, q: tuple[float, float, float, float]) -> tuple[float, ...]:
        norm = math.sqrt(sum(c * c for c in q))
        if abs(norm - 1.0) > 1e-3:
            raise ValueError(f"must be a unit quaternion [x, y, z, w], its length is {norm:.4f}")
        return q


class Box(_Strict):
    primitive: Literal["box"]
    size: Size3 = (1.0, 1.0, 1.0)


class Sphere(_Strict):
    primitive: Literal["sphere"]
    radius: Positive = 0.5


class Plane(_Strict):
    primitive: Literal["plane"]
    size: Vec2 = (1.0, 1.0)


class Capsule(_Strict):
    primitive: Literal["capsule"]
    radius: Positive = 0.5
    height: Positive = 2.0


class Cylinder(_Strict):
    primitive: Literal["cylinder"]
    radius: Positive = 0.5
    height: Positive = 1.0


Mesh = Annotated[Box | Sphere | Plane | Capsule | Cylinder, Field(discriminator="primitive")]


class Collider(_Strict):
    shape: Literal["box", "sphere", "capsule", "mesh"]
    size: Size3 | None = None
    radius: Positive | None = None
    height: Positive | None = None


class Light(_Strict):
    type: Literal["directional", "point", "spot"]
    color: Color3 = (1.0, 1.0, 1.0)
    intensity: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 1.0
    range: Positive | None = None
    inner_cone: Annotated[float, Field(ge=0.0, le=math.pi / 2)] = 0.0
    outer_cone: Annotated[float, Field(gt=0.0, le=math.pi / 2)] = math.pi / 4

    @model_validator(mode="after")
    def _cones(self) -> Light:
        if self.type == "spot" and self.inner_cone >= self.outer_cone:
            raise ValueError("inner_cone must be smaller than outer_cone")
        return self


class Camera(_Strict):
    projection: Literal["perspective", "orthographic"] = "perspective"
    yfov: Annotated[float, Field(gt=0.0, lt=math.pi)] = 0.8
    ymag: Positive = 5.0
    znear: Positive = 0.1
    zfar: Positive = 1000.0

    @model_validator(mode="after")
    def _clip(self) -> Camera:
        if self.zfar <= self.znear:
            raise ValueError("zfar must be greater than znear")
        return self


class Component(_Strict):
    type: Annotated[str, Field(min_length=1, max_length=64)]
    params: dict[str, Any] = Field(default_factory=dict)


class Audio(_Strict):
    asset: Id
    autoplay: bool = False
    loop: bool = False
    volume: Annotated[float, Field(ge=0.0, le=4.0)] = 1.0


class Node(_Strict):
    id: Id
    name: Annotated[str, Field(max_length=256)] | None = None
    parent: Id | None = None
    transform: Transform = Transform()
    mesh: Mesh | None = None
    model: Id | None = None
    material: Id | None = None
    body: Literal["static", "rigid", "kinematic", "character"] | None = None
    collider: Collider | None = None
    light: Light | None = None
    camera: Camera | None = None
    audio: Audio | None = None
    components: list[Component] = Field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Environment(_Strict):
    sky_color: Color3 = (0.5, 0.7, 1.0)
    ambient_color: Color3 = (0.3, 0.3, 0.35)
    ambient_intensity: Annotated[float, Field(ge=0.0, le=16.0)] = 0.5


class Scene(_Strict):
    id: Id
    name: Annotated[str, Field(max_length=256)] | None = None
    environment: Environment = Environment()
    nodes: list[Node] = Field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Bounds(_Strict):
    min: Vec3
    max: Vec3


class Asset(_Strict):
    id: Id
    type: Literal["texture", "model", "audio"]
    uri: Annotated[str, Field(min_length=1, max_length=8192)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    color_space: Literal["srgb", "linear"] = "srgb"
    bounds: Bounds | None = None


class Material(_Strict):
    id: Id
    base_color: Color4 = (1.0, 1.0, 1.0, 1.0)
    base_color_texture: Id | None = None
    metallic: Unit = 0.0
    roughness: Unit = 0.5
    normal_texture: Id | None = None
    emissive: Color3 = (0.0, 0.0, 0.0)


class Project(_Strict):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=256)]
    version: Annotated[str, Field(max_length=64)] = "1.0.0"
    instancing: bool = Field(
        default=True,
        description="Repeated plain props (16 or more nodes sharing a parent, a primitive or "
                    "a model, and a material, with no body, collider, light, camera, audio, "
                    "component or child) become the engines' instancing constructs; false "
                    "keeps every node separate.")


class Manifest(_Strict):
    schema_: Literal["pacai.manifest/v1"] = Field(alias="schema")
    project: Project
    assets: list[Asset] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    scenes: Annotated[list[Scene], Field(min_length=1)]
    main_scene: Id

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _references(self) -> Manifest:
        problems = list(_reference_problems(self))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (to and from the CPU pool) as one bytes payload built and read with the
        cyclic collector paused: at 100,000 nodes that is ~2 s instead of ~7 s a trip."""
        with paused():
            return (_unpickle_manifest, (pickle.dumps(self.__getstate__(), protocol=5),))

    def scene(self, scene_id: str) -> Scene:
        return next(s for s in self.scenes if s.id == scene_id)

    @property
    def main(self) -> Scene:
        return self.scene(self.main_scene)

    def asset(self, asset_id: str) -> Asset:
        return next(a for a in self.assets if a.id == asset_id)

    def material(self, material_id: str) -> Material:
        return next(m for m in self.materials if m.id == material_id)


def _unpickle_manifest(payload: bytes) -> Manifest:
    manifest = Manifest.__new__(Manifest)
    with paused():
        manifest.__setstate__(pickle.loads(payload))
    return manifest


def _duplicates(items: list[Any], path: str) -> Iterator[str]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            yield f"{path}[{index}].id: duplicate id {item.id!r}"
        seen.add(item.id)


def _reference_problems(m: Manifest) -> Iterator[str]:
    yield from _duplicates(m.assets, "assets")
    yield from _duplicates(m.materials, "materials")
    yield from _duplicates(m.scenes, "scenes")
    assets = {a.id: a.type for a in m.assets}
    materials = {mat.id for mat in m.materials}

    def asset_ref(path: str, ref: str | None, kind: str) -> Iterator[str]:
        if ref is None:
            return
        if ref not in assets:
            yield f"{path}: {ref!r} is not an asset id"
        elif assets[ref] != kind:
            yield f"{path}: asset {ref!r} is of type {assets[ref]}, not {kind}"

    for i, mat in enumerate(m.materials):
        yield from asset_ref(f"materials[{i}].base_color_texture", mat.base_color_texture,
                             "texture")
        yield from asset_ref(f"materials[{i}].normal_texture", mat.normal_texture, "texture")
    for s, scene in enumerate(m.scenes):
        base = f"scenes[{s}].nodes"
        yield from _duplicates(scene.nodes, base)
        ids = {n.id for n in scene.nodes}
        for i, node in enumerate(scene.nodes):
            if node.parent is not None and node.parent not in ids:
                yield f"{base}[{i}].parent: {node.parent!r} is not a node of scene {scene.id!r}"
            if node.material is not None and node.material not in materials:
                yield f"{base}[{i}].material: {node.material!r} is not a material id"
            yield from asset_ref(f"{base}[{i}].model", node.model, "model")
            if node.audio is not None:
                yield from asset_ref(f"{base}[{i}].audio.asset", node.audio.asset, "audio")
        yield from _cycles(scene, base)
    if m.main_scene not in {s.id for s in m.scenes}:
        yield f"main_scene: {m.main_scene!r} is not a scene id"


def _cycles(scene: Scene, base: str) -> Iterator[str]:
    parent = {n.id: n.parent for n in scene.nodes}
    index = {n.id: i for i, n in enumerate(scene.nodes)}
    done: set[str] = set()
    for start in parent:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in done and node in parent:
            if node in path:
                cycle = path[path.index(node):]
                yield (f"{base}[{index[node]}].parent: parent cycle "
                       f"{' -> '.join(repr(n) for n in [*cycle, node])}")
                break
            path.append(node)
            node = parent[node]
        done.update(path)


def parse_manifest(data: object, limits: Limits, *, expected_id: str | None = None) -> Manifest:
    """Validate a decoded manifest against §10 and the §13 limits; raise ``InvalidManifest``."""
    if not isinstance(data, dict):
        raise InvalidManifest(f"manifest: must be a JSON object, got {type(data).__name__}")
    _check_counts(data, limits)  # the cheap refusals first
    check_json(data, "manifest", limits.json_depth, InvalidManifest)
    try:
        with paused():
            manifest = Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        pairs = _pairs(exc)
        raise InvalidManifest(format_errors(pairs), errors=field_errors(pairs)) from None
    _check_depth(manifest, limits)
    if expected_id is not None and manifest.project.id != expected_id:
        raise InvalidManifest(f"manifest.project.id: {manifest.project.id!r} does not match the "
                              f"job's project_id {expected_id!r}")
    return manifest


def _check_counts(data: dict[str, Any], limits: Limits) -> None:
    """The counts a manifest can blow up, before pydantic builds a model per item."""
    _check_count(data.get("assets"), "manifest.assets", "assets", limits.assets)
    _check_count(data.get("materials"), "manifest.materials", "materials", limits.materials)
    scenes = data.get("scenes")
    _check_count(scenes, "manifest.scenes", "scenes", limits.scenes)
    if not isinstance(scenes, list):
        return
    nodes = 0
    for s, scene in enumerate(scenes):
        scene_nodes = scene.get("nodes") if isinstance(scene, dict) else None
        if not isinstance(scene_nodes, list):
            continue
        nodes += len(scene_nodes)
        for i, node in enumerate(scene_nodes):
            if isinstance(node, dict):
                _check_count(node.get("components"),
                             f"manifest.scenes[{s}].nodes[{i}].components", "components",
                             limits.components)
    if nodes > limits.nodes:
        raise LimitExceeded(f"manifest.scenes: {nodes} nodes exceed the limit of "
                            f"{limits.nodes}")


def _check_count(items: object, path: str, what: str, limit: int) -> None:
    if isinstance(items, list) and len(items) > limit:
        raise LimitExceeded(f"{path}: {len(items)} {what} exceed the limit of {limit}")


def _check_depth(manifest: Manifest, limits: Limits) -> None:
    """Writers walk the hierarchy recursively: bound its depth (cycles are already refused)."""
    for s, scene in enumerate(manifest.scenes):
        parent = {n.id: n.parent for n in scene.nodes}
        depth: dict[str, int] = {}
        for i, node in enumerate(scene.nodes):
            chain: list[str] = []
            current: str | None = node.id
            while current is not None and current not in depth:
                chain.append(current)
                current = parent[current]
            base = depth[current] if current is not None else 0
            for offset, item in enumerate(reversed(chain), start=1):
                depth[item] = base + offset
            if depth[node.id] > limits.hierarchy_depth:
                raise LimitExceeded(
                    f"manifest.scenes[{s}].nodes[{i}].parent: the hierarchy is deeper than "
                    f"{limits.hierarchy_depth} levels")


def _pairs(exc: pydantic.ValidationError) -> list[tuple[str, str]]:
    """Reference problems arrive as one model-level error of many ``path: message`` lines."""
    pairs = []
    for path, message in validation_errors(exc, root="manifest"):
        if path == "manifest" and ": " in message:
            for line in message.split("\n"):
                sub, _, rule = line.partition(": ")
                pairs.append((f"manifest.{sub}", rule))
        else:
            pairs.append((path, message))
    return pairs


def decode_manifest_bytes(raw: bytes, limits: Limits, source: str) -> object:
    """Decode a manifest file's bytes, enforcing the size limit before parsing."""
    if len(raw) > limits.manifest_bytes:
        raise LimitExceeded(f"manifest ({source}): {len(raw)} bytes exceed the limit of "
                            f"{limits.manifest_bytes}")
    return load_json(raw, f"manifest ({source})", limits.json_depth, InvalidManifest)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of manifest v1 (``schemas/manifest.v1.json``)."""
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://pacaiwolfstudio.com/schemas/manifest.v1.json"
    schema["title"] = "PacAI manifest v1"
    return schema
