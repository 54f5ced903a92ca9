"""Unity 6 (6000.0 LTS) writer (§11): a project folder with YAML scenes, materials, scripts.

Transforms are converted as glTFast converts glTF nodes (coords.unity_*), so the ``.glb``
models that the editor bootstrap places under their GameObjects line up with the rest.
Every file and folder under ``Assets/`` gets a ``.meta`` whose GUID derives from the seed
and the asset path (contract §7).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import math
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from ..manifest import Asset, Camera, Light, Material, Node, Scene
from . import affine, instancing, main_camera
from .base import BuildContext, Chunks, Files
from .components import COMPONENTS, Param, component_params, unused_params
from .coords import (
    UNITY_FORWARD_FIX,
    Matrix3,
    Quat,
    Shape,
    Vec3,
    bounds_box,
    collider_shape,
    linear_to_srgb,
    primitive_extent,
    quat_normalize,
    trs,
    unity_position,
    unity_rotation,
    unity_scale,
)
from .ids import UnityFileIds, unity_guid
from .names import (
    asset_filenames,
    double_quoter,
    pascal_case,
    unique,
    unique_filenames,
    unity_object_name,
)

EDITOR_VERSION = "6000.0.23f1"
EDITOR_REVISION = "1c4764c07fb4"
GLTFAST_VERSION = "6.8.0"
HEADER = "%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n"
GLTFAST_IMPORTER_GUID = "715df9372183c47e389bb6e19fbc3b52"  # glTFast Editor/Scripts/GltfImporter.cs
BUILTIN_MESH_GUID = "0000000000000000e000000000000000"  # Library/unity default resources
BUILTIN_EXTRA_GUID = "0000000000000000f000000000000000"  # Resources/unity_builtin_extra
MESH_IDS = {"box": 10202, "cylinder": 10206, "sphere": 10207, "capsule": 10208, "plane": 10209}
STANDARD_SHADER = f"{{fileID: 46, guid: {BUILTIN_EXTRA_GUID}, type: 0}}"
DEFAULT_MATERIAL = f"{{fileID: 10303, guid: {BUILTIN_EXTRA_GUID}, type: 0}}"
ASSET_FOLDERS = {"model": "Models", "texture": "Textures", "audio": "Audio"}
LIGHT_TYPES = {"spot": 0, "directional": 1, "point": 2}  # UnityEngine.LightType
# glTFast's range for a light without one (glTF: infinite); float.MaxValue breaks URP spots.
INFINITE_LIGHT_RANGE = 100_000.0
TRANSPARENT_QUEUE = 3000  # RenderQueue.Transparent
LINEAR_COLOR_SPACE = 1  # PlayerSettings.m_ActiveColorSpace: 0 gamma, 1 linear
FREEZE_ROTATION = 112  # RigidbodyConstraints.FreezeRotation
SCENE_ROOTS_ID = 9223372036854775807


def write(ctx: BuildContext) -> Files:
    """The Unity project folder for ``ctx`` (paths relative to ``unity/``)."""
    m = ctx.manifest
    files: Files = {
        "ProjectSettings/ProjectVersion.txt": (
            f"m_EditorVersion: {EDITOR_VERSION}\n"
            f"m_EditorVersionWithRevision: {EDITOR_VERSION} ({EDITOR_REVISION})\n").encode(),
        "Packages/manifest.json": _packages(),
        "ProjectSettings/ProjectSettings.asset": _player_settings(m.project.name),
    }
    assets = _asset_paths(ctx)
    for asset_id, path in assets.items():
        files[path] = ctx.assets[asset_id].path
    materials = {mid: f"Assets/Materials/{name}" for mid, name
                 in unique_filenames((mat.id for mat in m.materials), ".mat").items()}
    # GPU instancing on the materials shared by repeated props (engines/instancing.py): Unity
    # then draws each group's renderers in instanced batches.
    instanced = {g.material for scene in m.scenes for g in instancing.scene_groups(m, scene)
                 if g.model is None}  # model groups stay prefab instances (MODEL_CONSTRUCTS)
    for material in m.materials:
        files[materials[material.id]] = _material(ctx, material, assets,
                                                  material.id in instanced)
    scene_paths = {sid: f"Assets/Scenes/{name}" for sid, name
                   in unique_filenames((s.id for s in m.scenes), ".unity").items()}
    placements: list[tuple[str, str, str]] = []
    unknown = False
    for scene in m.scenes:
        writer = _SceneWriter(ctx, scene, scene_paths[scene.id], assets, materials)
        writer.build()  # now: the placements and the scripts depend on it
        files[scene_paths[scene.id]] = Chunks(writer.render)  # when read: ~2.4 KB a node
        placements += writer.placements
        unknown = unknown or writer.unknown_components
    for type_ in COMPONENTS:
        files[f"Assets/Scripts/{pascal_case(type_)}.cs"] = SCRIPTS[type_].encode()
    if unknown:
        files["Assets/Scripts/PacaiComponentData.cs"] = COMPONENT_DATA_SCRIPT.encode()
    files["Assets/Editor/PacaiBootstrap.cs"] = _bootstrap(placements)
    ordered = [scene_paths[m.main_scene]] + [p for s, p in scene_paths.items()
                                              if s != m.main_scene]
    files["ProjectSettings/EditorBuildSettings.asset"] = _build_settings(ctx, ordered)
    files.update(_metas(ctx, files, _texture_settings(ctx, assets), _audio_settings(ctx, assets)))
    return files


# --- formatting -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _f(x: float) -> str:
    # Cached: big scenes repeat a few values (0, 1, grid steps) hundreds of thousands of times.
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _s(text: str) -> str:
    """A YAML scalar that reads back as ``text`` and stays on its line.

    Single-quoted when every character is printable (only ``'`` is escaped, by doubling);
    otherwise double-quoted with escapes, so a newline followed by ``--- !u!1 &999`` can
    never start a document of its own. YAML 1.1 also breaks lines at NEL, U+2028 and
    U+2029, so those are escaped too; lone surrogates cannot be written as UTF-8 at all and
    become U+FFFD.
    """
    # ASCII and printable (U+0020..U+007E) is the common case and cannot hold anything
    # _YAML_UNSAFE matches: two C-level checks instead of a regex search.
    if (text.isascii() and text.isprintable()) or not _YAML_UNSAFE.search(text):
        return "'" + text.replace("'", "''") + "'"
    return _yaml_quote(text)


_YAML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
# What a single-quoted scalar cannot hold on one line (YAML 1.1 also breaks lines at NEL,
# U+2028 and U+2029); a double-quoted one also escapes its quote and backslash.
_YAML_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
_yaml_quote = double_quoter(_YAML_ESCAPES)


def _v3(v: Vec3) -> str:
    return f"{{x: {_f(v[0])}, y: {_f(v[1])}, z: {_f(v[2])}}}"


def _q4(q: Quat) -> str:
    return f"{{x: {_f(q[0])}, y: {_f(q[1])}, z: {_f(q[2])}, w: {_f(q[3])}}}"


def _rgba(rgb: tuple[float, ...], alpha: float = 1.0, scale: float = 1.0) -> str:
    # Unity serialises colours gamma-encoded and linearises them in linear colour space.
    r, g, b = (linear_to_srgb(c * scale) for c in rgb[:3])
    return f"{{r: {_f(r)}, g: {_f(g)}, b: {_f(b)}, a: {_f(alpha)}}}"


def _ref(file_id: int) -> str:
    return f"{{fileID: {file_id}}}"


# --- project files --------------------------------------------------------------------------


def _packages() -> bytes:
    dependencies = {
        "com.unity.cloud.gltfast": GLTFAST_VERSION,
        "com.unity.modules.animation": "1.0.0",
        "com.unity.modules.audio": "1.0.0",
        "com.unity.modules.imageconversion": "1.0.0",
        "com.unity.modules.jsonserialize": "1.0.0",
        "com.unity.modules.physics": "1.0.0",
        "com.unity.modules.unitywebrequest": "1.0.0",
        "com.unity.modules.unitywebrequesttexture": "1.0.0",
    }
    return (json.dumps({"dependencies": dependencies}, indent=2, sort_keys=True) + "\n").encode()


def _player_settings(product: str) -> bytes:
    """The player settings that must not be left to Unity's defaults: the colour space, set
    to linear explicitly (material and light colours are written for it). Unity fills in
    every setting not listed here with its default when it loads the file."""
    lines = [HEADER + "--- !u!129 &1", "PlayerSettings:", "  m_ObjectHideFlags: 0",
             "  serializedVersion: 28", f"  productName: {_s(product)}",
             f"  m_ActiveColorSpace: {LINEAR_COLOR_SPACE}"]
    return ("\n".join(lines) + "\n").encode()


def _build_settings(ctx: BuildContext, scene_paths: list[str]) -> bytes:
    lines = [HEADER + "--- !u!1045 &1", "EditorBuildSettings:", "  m_ObjectHideFlags: 0",
             "  serializedVersion: 2", "  m_Scenes:"]
    for path in scene_paths:
        lines += ["  - enabled: 1", f"    path: {path}", f"    guid: {unity_guid(ctx.seed, path)}"]
    lines.append("  m_configObjects: {}")
    return ("\n".join(lines) + "\n").encode()


def _asset_paths(ctx: BuildContext) -> dict[str, str]:
    """``Assets/…`` path of every shipped asset, by asset id (sorted for determinism)."""
    names = asset_filenames({aid: af.filename for aid, af in ctx.assets.items()})
    return {aid: f"Assets/{ASSET_FOLDERS[ctx.manifest.asset(aid).type]}/{names[aid]}"
            for aid in sorted(ctx.assets)}


def _material(ctx: BuildContext, mat: Material, assets: dict[str, str],
              instanced: bool = False) -> bytes:
    def tex(asset_id: str | None) -> str:
        if asset_id is None or asset_id not in assets:
            return "{fileID: 0}"
        return f"{{fileID: 2800000, guid: {unity_guid(ctx.seed, assets[asset_id])}, type: 3}}"

    keywords = []
    transparent = mat.base_color[3] < 1.0
    if transparent:
        keywords.append("_ALPHABLEND_ON")
    if mat.normal_texture in assets:
        keywords.append("_NORMALMAP")
    emissive = any(c > 0 for c in mat.emissive)
    if emissive:
        keywords.append("_EMISSION")
    keywords.sort()  # Unity keeps keyword lists sorted
    tex_envs = [("_MainTex", tex(mat.base_color_texture)), ("_BumpMap", tex(mat.normal_texture))]
    lines = [
        HEADER + "--- !u!21 &2100000", "Material:", "  serializedVersion: 8",
        "  m_ObjectHideFlags: 0", "  m_CorrespondingSourceObject: {fileID: 0}",
        "  m_PrefabInstance: {fileID: 0}", "  m_PrefabAsset: {fileID: 0}",
        f"  m_Name: {_s(mat.id)}", f"  m_Shader: {STANDARD_SHADER}", "  m_Parent: {fileID: 0}",
        "  m_ModifiedSerializedProperties: 0",
        "  m_ValidKeywords: " + ("[]" if not keywords else ""),
        *[f"  - {k}" for k in keywords],
        "  m_InvalidKeywords: []", f"  m_LightmapFlags: {2 if emissive else 4}",
        f"  m_EnableInstancingVariants: {int(instanced)}", "  m_DoubleSidedGI: 0",
        f"  m_CustomRenderQueue: {TRANSPARENT_QUEUE if transparent else -1}",
        "  stringTagMap:" + (" {}" if not transparent else "\n    RenderType: Transparent"),
        "  disabledShaderPasses: []",
        "  m_LockedProperties: ", "  m_SavedProperties:", "    serializedVersion: 3",
        "    m_TexEnvs:",
    ]
    for name, ref in tex_envs:
        lines += [f"    - {name}:", f"        m_Texture: {ref}", "        m_Scale: {x: 1, y: 1}",
                  "        m_Offset: {x: 0, y: 0}"]
    # The Standard shader's blend state (Standard.shader: Blend [_SrcBlend] [_DstBlend],
    # ZWrite [_ZWrite]); transparent is its "Fade" mode, straight alpha as glTF's BLEND.
    src, dst, zwrite, mode = (5, 10, 0, 2) if transparent else (1, 0, 1, 0)
    lines += [
        "    m_Ints: []", "    m_Floats:", "    - _BumpScale: 1",
        f"    - _DstBlend: {dst}",
        f"    - _Glossiness: {_f(1.0 - mat.roughness)}",
        # _Metallic is [Gamma]: in a linear-colour project Unity linearises it before the
        # shader sees it, so the value written is the sRGB encoding of the wanted metallic.
        f"    - _Metallic: {_f(linear_to_srgb(mat.metallic))}",
        f"    - _Mode: {mode}", f"    - _SrcBlend: {src}", f"    - _ZWrite: {zwrite}",
        "    m_Colors:",
        f"    - _Color: {_rgba(mat.base_color, mat.base_color[3])}",
        f"    - _EmissionColor: {_rgba(mat.emissive)}",
        "  m_BuildTextureStacks: []", "  m_AllowLocking: 1",
    ]
    return ("\n".join(lines) + "\n").encode()


# --- metas ----------------------------------------------------------------------------------


def _texture_settings(ctx: BuildContext, assets: dict[str, str]) -> dict[str, tuple[bool, bool]]:
    """(sRGB, normal map) of every shipped texture, by its ``Assets/…`` path. A texture a
    material uses as its normal map is a normal map (and linear); one the manifest marks
    ``linear`` is sampled without sRGB decoding; the rest are colour."""
    normals = {m.normal_texture for m in ctx.manifest.materials if m.normal_texture}
    out: dict[str, tuple[bool, bool]] = {}
    for asset_id, path in assets.items():
        asset = ctx.manifest.asset(asset_id)
        if asset.type == "texture":
            normal = asset_id in normals
            out[path] = (asset.color_space == "srgb" and not normal, normal)
    return out


def _audio_settings(ctx: BuildContext, assets: dict[str, str]) -> dict[str, bool]:
    """Whether each shipped audio clip streams, by its ``Assets/…`` path: a clip some node
    loops is music or ambience (streamed from disk); the rest are short effects (decompressed
    on load, so they start without delay)."""
    looped = {n.audio.asset for s in ctx.manifest.scenes for n in s.nodes
              if n.audio is not None and n.audio.loop}
    return {path: asset_id in looped for asset_id, path in assets.items()
            if ctx.manifest.asset(asset_id).type == "audio"}


def _metas(ctx: BuildContext, files: Files, textures: dict[str, tuple[bool, bool]],
           audio: dict[str, bool]) -> Files:
    """A ``.meta`` for every file and every folder under ``Assets/``."""
    out: Files = {}
    folders: set[str] = set()
    for path in files:
        if not path.startswith("Assets/"):
            continue
        out[path + ".meta"] = _meta(ctx, path, folder=False, texture=textures.get(path),
                                    audio=audio.get(path))
        parent = PurePosixPath(path).parent
        while str(parent) != "Assets":
            folders.add(str(parent))
            parent = parent.parent
    for folder in sorted(folders):
        out[folder + ".meta"] = _meta(ctx, folder, folder=True)
    return out


def _meta(ctx: BuildContext, path: str, *, folder: bool,
          texture: tuple[bool, bool] | None = None, audio: bool | None = None) -> bytes:
    lines = ["fileFormatVersion: 2", f"guid: {unity_guid(ctx.seed, path)}"]
    suffix = PurePosixPath(path).suffix
    if texture is not None:
        lines += _texture_importer(*texture)
    elif folder:
        lines += ["folderAsset: yes", *_importer("DefaultImporter")]
    elif suffix == ".cs":
        lines += ["MonoImporter:", "  externalObjects: {}", "  serializedVersion: 2",
                  "  defaultReferences: []", "  executionOrder: 0", "  icon: {instanceID: 0}",
                  "  userData: ", "  assetBundleName: ", "  assetBundleVariant: "]
    elif suffix == ".mat":
        lines += ["NativeFormatImporter:", "  externalObjects: {}",
                  "  mainObjectFileID: 2100000", "  userData: ", "  assetBundleName: ",
                  "  assetBundleVariant: "]
    elif suffix == ".unity":
        lines += _importer("DefaultImporter")
    elif suffix in (".glb", ".gltf"):
        lines += _gltf_importer()
    elif audio is not None:
        lines += _audio_importer(streaming=audio)
    return ("\n".join(lines) + "\n").encode()


def _texture_importer(srgb: bool, normal: bool) -> list[str]:
    """The texture settings that must not be Unity's defaults (the rest are filled in on
    import): no sRGB decoding for linear data, the normal-map type for normal maps (else
    the Standard shader reads them wrong and the material asks to "Fix Now")."""
    return ["TextureImporter:", "  internalIDToNameTable: []", "  externalObjects: {}",
            "  serializedVersion: 13", "  mipmaps:", "    mipMapMode: 0",
            "    enableMipMap: 1", f"    sRGBTexture: {int(srgb)}", "  bumpmap:",
            "    convertToNormalMap: 0", f"  textureType: {1 if normal else 0}",
            "  textureShape: 1", "  userData: ", "  assetBundleName: ",
            "  assetBundleVariant: "]


def _gltf_importer() -> list[str]:
    """glTFast's importer named explicitly, so it imports the model even where another glTF
    importer is installed; its settings keep glTFast's defaults (which import each embedded
    texture with the colour space of its glTF role). The script GUID is glTFast's
    ``GltfImporter.cs.meta``, the same from 6.0 to 6.15."""
    return ["ScriptedImporter:", "  internalIDToNameTable: []", "  externalObjects: {}",
            "  serializedVersion: 2", "  userData: ", "  assetBundleName: ",
            "  assetBundleVariant: ",
            f"  script: {{fileID: 11500000, guid: {GLTFAST_IMPORTER_GUID}, type: 3}}"]


def _audio_importer(*, streaming: bool) -> list[str]:
    """AudioImporter settings for the clip's role: load type 2 (streaming) for looped music
    and ambience, 0 (decompress on load) for effects; Vorbis compression either way."""
    return ["AudioImporter:", "  externalObjects: {}", "  serializedVersion: 8",
            "  defaultSettings:", "    serializedVersion: 2",
            f"    loadType: {2 if streaming else 0}", "    sampleRateSetting: 0",
            "    sampleRateOverride: 44100", "    compressionFormat: 1", "    quality: 1",
            "    conversionMode: 0", f"    preloadAudioData: {int(not streaming)}",
            "  platformSettingOverrides: {}", "  forceToMono: 0", "  normalize: 1",
            f"  loadInBackground: {int(streaming)}", "  ambisonic: 0", "  3D: 1",
            "  userData: ", "  assetBundleName: ", "  assetBundleVariant: "]


def _importer(name: str) -> list[str]:
    return [f"{name}:", "  externalObjects: {}", "  userData: ", "  assetBundleName: ",
            "  assetBundleVariant: "]


# --- scenes ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Go:
    key: str
    name: str
    position: Vec3 = (0.0, 0.0, 0.0)
    rotation: Quat = (0.0, 0.0, 0.0, 1.0)
    scale: Vec3 = (1.0, 1.0, 1.0)
    parent: str | None = None
    tag: str = "Untagged"
    static: bool = False  # a static body, or a helper of one: marked for static batching
    components: list[tuple[int, str, str, list[str]]] = dataclasses.field(default_factory=list)
    children: list[str] = dataclasses.field(default_factory=list)

    def add(self, class_id: int, type_name: str, key: str, body: list[str]) -> None:
        self.components.append((class_id, type_name, key, body))


class _Leaf(NamedTuple):
    """A plain prop (``_plain``): a GameObject with a MeshFilter and a MeshRenderer and
    nothing else — most nodes of a big scene. Rendered by ``_render_leaf`` as one f-string
    instead of a ``_Go`` and its lists of lines: the same text at a third of the cost."""

    node: Node
    name: str
    parent: str | None
    mesh: str  # the MeshFilter's m_Mesh reference
    renderer: str  # the MeshRenderer's body (fixed lines and the material reference)


class _SceneWriter:
    """Builds the GameObjects of one scene, then renders Unity's YAML."""

    def __init__(self, ctx: BuildContext, scene: Scene, path: str,
                 assets: dict[str, str], materials: dict[str, str]) -> None:
        self.ctx, self.scene, self.path, self.assets = ctx, scene, path, assets
        self.materials = materials
        self.world = affine.WorldMatrices(scene)
        self.gos: dict[str, _Go] = {}
        # Everything to render, in order: GameObjects and plain props (which are not in gos).
        self.docs: collections.deque[_Go | _Leaf] = collections.deque()
        self.leaf_parts: dict[tuple[str, str | None], tuple[str, str]] = {}
        self.pending: dict[str, tuple[int, int, int, int]] = {}  # leaf_tid's, not yet asked
        self.roots: list[str] = []
        self.ids: dict[str, int] = {}
        self.used_ids: set[int] = set()
        self.file_id = UnityFileIds(ctx.seed, path)  # unity_file_id(seed, path, key)
        self.placements: list[tuple[str, str, str]] = []
        self.unknown_components = False
        self.main_camera = main_camera(scene)
        self.children: dict[str | None, list[Node]] = {}
        for node in scene.nodes:
            self.children.setdefault(node.parent, []).append(node)

    def fid(self, key: str) -> int:
        known = self.ids.get(key)  # asked ~10 times a node: one lookup on the common path
        if known is not None:
            return known
        salt, value = key, self.file_id(key)
        while value in self.used_ids:  # astronomically unlikely; still deterministic
            salt += "#"
            value = self.file_id(salt)
        self.ids[key] = value
        self.used_ids.add(value)
        return value

    def leaf_tid(self, key: str) -> int:
        """``fid("t:" + key)`` of a plain prop, asked by its parent: the prop's three other
        ids are hashed with it (one call) and kept unregistered until ``leaf_ids`` asks for
        them, so every id is registered when it was before and the ids are the same."""
        t, g, mf, mr = self.file_id.leaf(key)
        tkey = "t:" + key
        if tkey in self.ids or t in self.used_ids:  # a collision: the general path salts
            return self.fid(tkey)
        self.ids[tkey] = t
        self.used_ids.add(t)
        self.pending[key] = (g, t, mf, mr)
        return t

    def leaf_ids(self, key: str) -> tuple[int, int, int, int]:
        """``fid`` of a plain prop's GameObject, Transform, MeshFilter and MeshRenderer keys:
        the same ids, registered in the same order. The common case is unrolled: the
        Transform's id registered by ``leaf_tid`` when the parent was written, the three
        others hashed with it, registered here as used (not by key: nothing asks for a
        plain prop's own ids again). Anything else takes ``fid`` key by key."""
        ids = self.pending.pop(key, None)
        if ids is not None:
            g, _, mf, mr = ids
            used = self.used_ids
            if g not in used and mf not in used and mr not in used and g != mf != mr != g:
                used.update((g, mf, mr))
                return ids
        fid = self.fid
        return fid("g:" + key), fid("t:" + key), fid("mf:" + key), fid("mr:" + key)

    def build(self) -> None:
        """Every GameObject of the scene, in the order ``render`` writes them."""
        top = self.children.get(None, [])
        for node, name in zip(top, unique([unity_object_name(n.display_name) for n in top]),
                              strict=True):
            self._node(node, name, None, ())

    def render(self) -> Iterator[bytes]:
        """The scene file, after ``build``, as pieces of a few hundred KB, each GameObject
        dropped once written: at 100,000 nodes the text is ~240 MB, and the pipeline writes
        the pieces to disk as they come, so no more than one piece is held at a time."""
        yield _docs(HEADER, *_settings(self.scene)).encode()
        # Rendered as strings in order (the ids are registered as they are asked), joined
        # and encoded a few hundred objects at a time.
        gos, docs, parts = self.gos, self.docs, []
        while docs:
            item = docs.popleft()
            if isinstance(item, _Leaf):
                parts.append(self._render_leaf(item))
            else:
                parts.append(_docs(*self._render_go(gos.pop(item.key))))
            if len(parts) >= 256:
                yield "".join(parts).encode()
                parts.clear()
        parts.append(_docs(f"--- !u!1660057539 &{SCENE_ROOTS_ID}\nSceneRoots:\n"
                           "  m_ObjectHideFlags: 0\n  m_Roots:\n"
                           + "".join(f"  - {_ref(self.fid('t:' + k))}\n"
                                     for k in self.roots)))
        yield "".join(parts).encode()

    # building

    def _go(self, key: str, name: str, parent: str | None) -> _Go:
        go = _Go(key, name, parent=parent)
        # A node's helpers (mesh, collider parts) share its static flag; its child nodes not.
        go.static = parent is not None and not key.startswith("n:") and self.gos[parent].static
        self.gos[key] = go
        self.docs.append(go)
        self._attach(key, parent)
        return go

    def _attach(self, key: str, parent: str | None) -> None:
        if parent is None:
            self.roots.append(key)
        else:
            self.gos[parent].children.append(key)

    def _node(self, node: Node, name: str, parent: str | None, path: tuple[str, ...]) -> None:
        if _plain(node) and node.id not in self.children:
            mesh = node.mesh
            assert mesh is not None
            mesh_ref, renderer = self._leaf_parts(mesh.primitive, node.material)
            self.docs.append(_Leaf(node, name, parent, mesh_ref, renderer))
            self._attach("n:" + node.id, parent)
            return
        go = self._go(f"n:{node.id}", name, parent)
        go.static = node.body == "static"
        t = trs(node.transform)
        go.position, go.rotation = unity_position(t.translation), unity_rotation(t.rotation)
        go.scale = unity_scale(t.scale)
        path = (*path, name)
        extra = self._features(node, go)
        kids = self.children.get(node.id, [])
        if not extra and not kids and node.model is None:  # a leaf prop: most of a big scene
            return
        extra_names = unique([n for n, _ in extra])
        kid_names = unique([unity_object_name(k.display_name) for k in kids], taken=extra_names)
        for (_, build), extra_name in zip(extra, extra_names, strict=True):
            build(extra_name)
        if node.model is not None and node.model in self.assets:
            self.placements.append((self.path, "/".join(path), self.assets[node.model]))
        for kid, kid_name in zip(kids, kid_names, strict=True):
            self._node(kid, kid_name, go.key, path)

    def _features(self, node: Node, go: _Go) -> list[tuple[str, Any]]:
        """Adds the node's own components; returns (name, builder) of its helper children."""
        extra: list[tuple[str, Any]] = []
        shape = collider_shape(node, self._model_asset(node))
        # Unity has no cylinder collider: a convex MeshCollider on the cylinder mesh is one.
        hull = shape is not None and shape.kind == "cylinder"
        if node.mesh is not None:
            mesh_scale = _mesh_scale(node)
            if node.mesh.primitive == "capsule" and _capsule_parts(node.mesh.radius,
                                                                   node.mesh.height):
                # A stretched built-in capsule distorts its caps: built from exact parts.
                extra.append(("Mesh", lambda n: self._capsule_child(node, go, n)))
            elif mesh_scale == (1.0, 1.0, 1.0):
                self._renderer(go, MESH_IDS[node.mesh.primitive], node.material)
                if hull:
                    self._mesh_collider(go, node, MESH_IDS["cylinder"])
            else:
                # Primitive size goes on a child so it does not scale the node's children.
                extra.append(("Mesh", lambda n: self._mesh_child(node, go, n, mesh_scale,
                                                                 hull)))
        if node.model is not None and node.model not in self.assets:
            extra.append((unity_object_name(node.model), lambda n: self._placeholder(node, go, n)))
        if shape is not None and not hull:
            if _native_collider_exact(shape, self.world[node.id][0]):
                self._collider(go, node, shape)
            else:
                # PhysX cannot stretch a sphere or shear a box: convex mesh colliders on the
                # built-in meshes, which Unity bakes with the full (skewed) transform.
                extra.append(("Collider", lambda n: self._collider_parts(node, go, n, shape)))
        if node.body in ("rigid", "kinematic", "character"):
            self._rigidbody(go, node)
        if node.light is not None:
            light = node.light
            extra.append(("Light", lambda n: self._light(go, n, light)))
        if node.camera is not None:
            camera = node.camera
            extra.append(("Camera", lambda n: self._camera(go, n, camera)))
        if node.audio is not None:
            self._audio(go, node)
        self._behaviours(go, node)
        return extra

    def _model_asset(self, node: Node) -> Asset | None:
        return self.ctx.manifest.asset(node.model) if node.model else None

    def _renderer(self, go: _Go, mesh_id: int, material_id: str | None) -> None:
        go.add(33, "MeshFilter", f"mf:{go.key}", [f"  m_Mesh: {_builtin_mesh(mesh_id)}"])
        go.add(23, "MeshRenderer", f"mr:{go.key}", [
            _RENDERER_HEAD, f"  - {self._material_ref(material_id)}", _RENDERER_TAIL])

    def _material_ref(self, material_id: str | None) -> str:
        if material_id is None:
            return DEFAULT_MATERIAL
        guid = unity_guid(self.ctx.seed, self.materials[material_id])
        return f"{{fileID: 2100000, guid: {guid}, type: 2}}"

    def _leaf_parts(self, primitive: str, material_id: str | None) -> tuple[str, str]:
        """The mesh reference and the MeshRenderer's fixed body of a plain prop, built once
        per (primitive, material): the same lines ``_renderer`` gives a ``_Go``."""
        key = (primitive, material_id)
        parts = self.leaf_parts.get(key)
        if parts is None:
            parts = (_builtin_mesh(MESH_IDS[primitive]),
                     f"{_RENDERER_HEAD}\n  - {self._material_ref(material_id)}\n{_RENDERER_TAIL}")
            self.leaf_parts[key] = parts
        return parts

    def _mesh_child(self, node: Node, parent: _Go, name: str, scale: Vec3,
                    hull: bool) -> None:
        assert node.mesh is not None
        child = self._go(f"mesh:{node.id}", name, parent.key)
        child.scale = scale
        self._renderer(child, MESH_IDS[node.mesh.primitive], node.material)
        if hull:
            self._mesh_collider(child, node, MESH_IDS["cylinder"])

    def _capsule_child(self, node: Node, parent: _Go, name: str) -> None:
        """A capsule of any proportions from built-in meshes that stay exact: a cylinder
        stretched along its axis and two uniformly scaled spheres as the caps."""
        assert node.mesh is not None and node.mesh.primitive == "capsule"
        parts = _capsule_parts(node.mesh.radius, node.mesh.height)
        assert parts is not None
        holder = self._go(f"mesh:{node.id}", name, parent.key)
        for part, primitive, offset, scale in parts:
            child = self._go(f"mesh:{node.id}:{part}", part, holder.key)
            child.position, child.scale = (0.0, offset, 0.0), scale
            self._renderer(child, MESH_IDS[primitive], node.material)

    def _collider_parts(self, node: Node, parent: _Go, name: str, shape: Shape) -> None:
        """The collider as convex mesh colliders on built-in meshes under a ``Collider``
        child: a cube or sphere scaled to size, a capsule as its cylinder and two spheres."""
        holder = self._go(f"collider:{node.id}", name, parent.key)
        holder.position = unity_position(shape.center)
        parts = _capsule_parts(shape.radius, shape.height) if shape.kind == "capsule" else None
        if parts is None:
            holder.scale = shape.size if shape.kind == "box" else (2 * shape.radius,) * 3
            self._mesh_collider(holder, node, MESH_IDS[shape.kind])
            return
        for part, primitive, offset, scale in parts:
            child = self._go(f"collider:{node.id}:{part}", part, holder.key)
            child.position, child.scale = (0.0, offset, 0.0), scale
            self._mesh_collider(child, node, MESH_IDS[primitive])

    def _mesh_collider(self, go: _Go, node: Node, mesh_id: int) -> None:
        go.add(64, "MeshCollider", f"col:{go.key}", [
            *self._collider_common(node), "  serializedVersion: 5", "  m_Convex: 1",
            "  m_CookingOptions: 30",
            f"  m_Mesh: {_builtin_mesh(mesh_id)}"])

    def _collider_common(self, node: Node) -> list[str]:
        trigger = any(c.type == "trigger_zone" for c in node.components) and node.body is None
        return ["  m_Material: {fileID: 0}",
                "  m_IncludeLayers: {serializedVersion: 2, m_Bits: 0}",
                "  m_ExcludeLayers: {serializedVersion: 2, m_Bits: 0}",
                "  m_LayerOverridePriority: 0", f"  m_IsTrigger: {int(trigger)}",
                "  m_ProvidesContacts: 0", "  m_Enabled: 1"]

    def _placeholder(self, node: Node, parent: _Go, name: str) -> None:
        box = bounds_box(self._model_asset(node))
        child = self._go(f"placeholder:{node.id}", name, parent.key)
        child.position, child.scale = unity_position(box.center), box.size
        self._renderer(child, MESH_IDS["box"], None)

    def _collider(self, go: _Go, node: Node, shape: Shape) -> None:
        common = self._collider_common(node)
        center = f"  m_Center: {_v3(unity_position(shape.center))}"
        if shape.kind == "box":
            go.add(65, "BoxCollider", f"col:{go.key}", [
                *common, "  serializedVersion: 3", f"  m_Size: {_v3(shape.size)}", center])
        elif shape.kind == "sphere":
            go.add(135, "SphereCollider", f"col:{go.key}", [
                *common, "  serializedVersion: 3", f"  m_Radius: {_f(shape.radius)}", center])
        else:
            go.add(136, "CapsuleCollider", f"col:{go.key}", [
                *common, "  serializedVersion: 2", f"  m_Radius: {_f(shape.radius)}",
                f"  m_Height: {_f(max(shape.height, 2 * shape.radius))}", "  m_Direction: 1",
                center])

    def _rigidbody(self, go: _Go, node: Node) -> None:
        kinematic = node.body == "kinematic"
        constraints = FREEZE_ROTATION if node.body == "character" else 0
        go.add(54, "Rigidbody", f"rb:{go.key}", [
            "  serializedVersion: 4", "  m_Mass: 1", "  m_LinearDamping: 0",
            "  m_AngularDamping: 0.05", "  m_CenterOfMass: {x: 0, y: 0, z: 0}",
            "  m_InertiaTensor: {x: 1, y: 1, z: 1}",
            "  m_InertiaRotation: {x: 0, y: 0, z: 0, w: 1}",
            "  m_IncludeLayers: {serializedVersion: 2, m_Bits: 0}",
            "  m_ExcludeLayers: {serializedVersion: 2, m_Bits: 0}", "  m_ImplicitCom: 1",
            "  m_ImplicitTensor: 1", f"  m_UseGravity: {int(not kinematic)}",
            f"  m_IsKinematic: {int(kinematic)}", "  m_Interpolate: 0",
            f"  m_Constraints: {constraints}", "  m_CollisionDetection: 0"])

    def _light(self, parent: _Go, name: str, light: Light) -> None:
        # glTF lights shine along -Z, Unity's along +Z: glTFast's 180° child, same here.
        child = self._go(f"light:{parent.key}", name, parent.key)
        child.rotation = UNITY_FORWARD_FIX
        outer = math.degrees(light.outer_cone) * 2  # Unity spot angles are full cone angles
        child.add(108, "Light", f"light:{parent.key}", [
            "  m_Enabled: 1", "  serializedVersion: 11", f"  m_Type: {LIGHT_TYPES[light.type]}",
            "  m_Shape: 0", f"  m_Color: {_rgba(light.color)}",
            # glTF intensities are photometric (lux, candela); glTFast divides them by π for
            # the built-in pipeline (LightPunctualExtension.LightAssignIntensity), and so do
            # we, so native lights match the lights of imported models.
            f"  m_Intensity: {_f(light.intensity / math.pi)}",
            f"  m_Range: {_f(light.range or INFINITE_LIGHT_RANGE)}",
            f"  m_SpotAngle: {_f(max(outer, 1.0))}",
            f"  m_InnerSpotAngle: {_f(math.degrees(light.inner_cone) * 2)}",
            "  m_CookieSize: 10", "  m_Shadows:",
            f"    m_Type: {2 if light.type == 'directional' else 0}",
            "    m_Resolution: -1", "    m_CustomResolution: -1", "    m_Strength: 1",
            "    m_Bias: 0.05", "    m_NormalBias: 0.4", "    m_NearPlane: 0.2",
            "  m_Cookie: {fileID: 0}", "  m_DrawHalo: 0", "  m_Flare: {fileID: 0}",
            "  m_RenderMode: 0", "  m_CullingMask:", "    serializedVersion: 2",
            "    m_Bits: 4294967295", "  m_RenderingLayerMask: 1", "  m_Lightmapping: 4",
            "  m_LightShadowCasterMode: 0", "  m_AreaSize: {x: 1, y: 1}",
            "  m_BounceIntensity: 1", "  m_ColorTemperature: 6570",
            "  m_UseColorTemperature: 0", "  m_UseBoundingSphereOverride: 0",
            "  m_UseViewFrustumForShadowCasterCull: 1", "  m_ShadowRadius: 0",
            "  m_ShadowAngle: 0"])

    def _camera(self, parent: _Go, name: str, camera: Camera) -> None:
        child = self._go(f"camera:{parent.key}", name, parent.key)
        child.rotation = UNITY_FORWARD_FIX  # glTF cameras look along -Z, Unity's along +Z
        ortho = camera.projection == "orthographic"
        sky = self.scene.environment.sky_color
        # Only the main camera renders (glTFast creates cameras disabled too); with several
        # enabled, whichever Unity drew last would win.
        main = parent.key == f"n:{self.main_camera}"
        child.add(20, "Camera", f"camera:{parent.key}", [
            f"  m_Enabled: {int(main)}", "  serializedVersion: 2", "  m_ClearFlags: 2",
            f"  m_BackGroundColor: {_rgba(sky, 0.0)}", "  m_projectionMatrixMode: 1",
            "  m_GateFitMode: 2", "  m_FOVAxisMode: 0", "  m_SensorSize: {x: 36, y: 24}",
            "  m_LensShift: {x: 0, y: 0}", "  m_FocalLength: 50",
            "  m_NormalizedViewPortRect:", "    serializedVersion: 2", "    x: 0", "    y: 0",
            "    width: 1", "    height: 1", f"  near clip plane: {_f(camera.znear)}",
            f"  far clip plane: {_f(camera.zfar)}",
            f"  field of view: {_f(math.degrees(camera.yfov))}",  # vertical in both
            f"  orthographic: {int(ortho)}",
            f"  orthographic size: {_f(camera.ymag)}",  # both are half the view height
            "  m_Depth: 0", "  m_CullingMask:", "    serializedVersion: 2",
            "    m_Bits: 4294967295", "  m_RenderingPath: -1", "  m_TargetTexture: {fileID: 0}",
            "  m_TargetDisplay: 0", "  m_TargetEye: 3", "  m_HDR: 1", "  m_AllowMSAA: 1",
            "  m_AllowDynamicResolution: 0", "  m_ForceIntoRT: 0", "  m_OcclusionCulling: 1",
            "  m_StereoConvergence: 10", "  m_StereoSeparation: 0.022"])
        if main:
            # The main camera also carries the scene's AudioListener.
            child.tag = "MainCamera"
            child.add(81, "AudioListener", f"listener:{parent.key}", ["  m_Enabled: 1"])

    def _audio(self, go: _Go, node: Node) -> None:
        audio = node.audio
        assert audio is not None
        clip = "{fileID: 0}"
        if audio.asset in self.assets:
            guid = unity_guid(self.ctx.seed, self.assets[audio.asset])
            clip = f"{{fileID: 8300000, guid: {guid}, type: 3}}"
        go.add(82, "AudioSource", f"audio:{go.key}", [
            "  m_Enabled: 1", "  serializedVersion: 4", "  OutputAudioMixerGroup: {fileID: 0}",
            f"  m_audioClip: {clip}", "  m_Resource: " + clip,
            f"  m_PlayOnAwake: {int(audio.autoplay)}", f"  m_Volume: {_f(min(audio.volume, 1.0))}",
            "  m_Pitch: 1", f"  Loop: {int(audio.loop)}", "  Mute: 0", "  Spatialize: 0",
            "  SpatializePostEffects: 0", "  Priority: 128", "  DopplerLevel: 1",
            "  MinDistance: 1", "  MaxDistance: 500", "  Pan2D: 0", "  rolloffMode: 0",
            "  BypassEffects: 0", "  BypassListenerEffects: 0", "  BypassReverbZones: 0",
            *_curve("rolloffCustomCurve", [(0.0, 1.0), (1.0, 0.0)]),
            *_curve("panLevelCustomCurve", [(0.0, 1.0)]),  # spatial blend 1: a 3D source
            *_curve("spreadCustomCurve", [(0.0, 0.0)]),
            *_curve("reverbZoneMixCustomCurve", [(0.0, 1.0)])])

    def _behaviours(self, go: _Go, node: Node) -> None:
        for index, comp in enumerate(node.components):
            if comp.type in COMPONENTS:
                path = f"Assets/Scripts/{pascal_case(comp.type)}.cs"
                fields = [f"  {name}: {_field(comp.type, name, value)}"
                          for name, value in component_params(comp.type, comp.params).items()]
                self._monobehaviour(go, f"mb{index}:{go.key}", path, fields)
                unused = {name: comp.params[name] for name in unused_params(comp.type,
                                                                            comp.params)}
                if unused:  # given parameters the script has no field for: kept as data
                    self._component_data(go, f"mbx{index}:{go.key}", comp.type, unused)
            else:
                self._component_data(go, f"mb{index}:{go.key}", comp.type, comp.params)

    def _component_data(self, go: _Go, key: str, type_: str, params: dict[str, Any]) -> None:
        self.unknown_components = True
        text = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
        self._monobehaviour(go, key, "Assets/Scripts/PacaiComponentData.cs",
                            [f"  type: {_s(type_)}", f"  params_json: {_s(text)}"])

    def _monobehaviour(self, go: _Go, key: str, path: str, fields: list[str]) -> None:
        script = f"{{fileID: 11500000, guid: {unity_guid(self.ctx.seed, path)}, type: 3}}"
        go.add(114, "MonoBehaviour", key, [
            "  m_Enabled: 1", "  m_EditorHideFlags: 0", f"  m_Script: {script}",
            "  m_Name: ", "  m_EditorClassIdentifier: ", *fields])

    # rendering

    def _render_leaf(self, leaf: _Leaf) -> str:
        """A plain prop's four documents: the text ``_render_go`` gives the same GameObject
        (a Transform, a MeshFilter, a MeshRenderer, no children, not static), the ids asked
        in the same order (GameObject, Transform, components, parent) so they are the same
        ids. One f-string: formatting ~2.3 KB from lists of lines was half of Unity's time
        on a big scene."""
        node, name, parent, mesh, renderer = leaf
        g, t, mf, mr = self.leaf_ids("n:" + node.id)
        father = self.fid("t:" + parent) if parent else 0
        transform = node.transform
        x, y, z = transform.translation
        owner = f"{_COMPONENT_HEAD}\n  m_GameObject: {{fileID: {g}}}"
        return (
            f"--- !u!1 &{g}\n{_GO_HEAD}\n  - component: {{fileID: {t}}}\n"
            f"  - component: {{fileID: {mf}}}\n  - component: {{fileID: {mr}}}\n"
            f"  m_Layer: 0\n  m_Name: {_s(name)}\n  m_TagString: Untagged\n"
            "  m_Icon: {fileID: 0}\n  m_NavMeshLayer: 0\n  m_StaticEditorFlags: 0\n"
            f"  m_IsActive: 1\n--- !u!4 &{t}\nTransform:\n{owner}\n  serializedVersion: 2\n"
            f"  m_LocalRotation: {_leaf_rotation(transform.rotation)}\n"
            # unity_position, inlined: X negated (as glTFast).
            f"  m_LocalPosition: {{x: {_f(-x)}, y: {_f(y)}, z: {_f(z)}}}\n"
            f"  m_LocalScale: {_leaf_scale(transform.scale)}\n"
            f"  m_ConstrainProportionsScale: 0\n  m_Children: []\n"
            f"  m_Father: {{fileID: {father}}}\n"
            f"--- !u!33 &{mf}\nMeshFilter:\n{owner}\n  m_Mesh: {mesh}\n"
            f"--- !u!23 &{mr}\nMeshRenderer:\n{owner}\n{renderer}\n")

    def _render_go(self, go: _Go) -> list[str]:
        # One f-string per document: a big scene renders ~4 documents a node, and building
        # each from a list of lines and a join cost half again as much.
        fid = self.fid
        gid, tid = fid("g:" + go.key), fid("t:" + go.key)
        owner = f"{_COMPONENT_HEAD}\n  m_GameObject: {{fileID: {gid}}}"
        ids = [fid(key) for _, _, key, _ in go.components]
        comps = "".join(f"\n  - component: {{fileID: {c}}}" for c in ids)
        gos, leaf_tid = self.gos, self.leaf_tid  # a child not in gos is a plain prop
        children = "".join(f"\n  - {{fileID: {fid('t:' + c) if c in gos else leaf_tid(c)}}}"
                           for c in go.children)
        father = fid("t:" + go.parent) if go.parent else 0
        docs = [
            f"--- !u!1 &{gid}\n{_GO_HEAD}\n  - component: {{fileID: {tid}}}{comps}\n"
            f"  m_Layer: 0\n  m_Name: {_s(go.name)}\n  m_TagString: {go.tag}\n"
            "  m_Icon: {fileID: 0}\n  m_NavMeshLayer: 0\n"
            f"  m_StaticEditorFlags: {BATCHING_STATIC if go.static else 0}\n  m_IsActive: 1\n",
            f"--- !u!4 &{tid}\nTransform:\n{owner}\n  serializedVersion: 2\n"
            f"  m_LocalRotation: {_q4(go.rotation)}\n  m_LocalPosition: {_v3(go.position)}\n"
            f"  m_LocalScale: {_v3(go.scale)}\n  m_ConstrainProportionsScale: 0\n"
            f"  m_Children:{children if children else ' []'}\n"
            f"  m_Father: {{fileID: {father}}}\n"]
        for (class_id, type_name, _, body), cid in zip(go.components, ids, strict=True):
            lines = "\n".join(body)
            docs.append(f"--- !u!{class_id} &{cid}\n{type_name}:\n{owner}\n{lines}\n")
        return docs


# StaticEditorFlags.BatchingStatic: Unity merges the static renderers sharing a material into
# static batches at build time (GPU instancing, for the instanced props, is per material).
BATCHING_STATIC = 4
_GO_HEAD = ("GameObject:\n  m_ObjectHideFlags: 0\n  m_CorrespondingSourceObject: {fileID: 0}\n"
            "  m_PrefabInstance: {fileID: 0}\n  m_PrefabAsset: {fileID: 0}\n"
            "  serializedVersion: 6\n  m_Component:")
_COMPONENT_HEAD = ("  m_ObjectHideFlags: 0\n  m_CorrespondingSourceObject: {fileID: 0}\n"
                   "  m_PrefabInstance: {fileID: 0}\n  m_PrefabAsset: {fileID: 0}")
# A MeshRenderer's fixed fields around its material, joined once (one renderer per mesh node).
_RENDERER_HEAD = "\n".join(["  m_Enabled: 1", "  m_CastShadows: 1", "  m_ReceiveShadows: 1",
            "  m_DynamicOccludee: 1", "  m_StaticShadowCaster: 0", "  m_MotionVectors: 1",
            "  m_LightProbeUsage: 1", "  m_ReflectionProbeUsage: 1", "  m_RayTracingMode: 2",
            "  m_RayTraceProcedural: 0", "  m_RenderingLayerMask: 1", "  m_RendererPriority: 0",
            "  m_Materials:"])
_RENDERER_TAIL = "\n".join(["  m_StaticBatchInfo:", "    firstSubMesh: 0",
            "    subMeshCount: 0", "  m_StaticBatchRoot: {fileID: 0}",
            "  m_ProbeAnchor: {fileID: 0}", "  m_LightProbeVolumeOverride: {fileID: 0}",
            "  m_ScaleInLightmap: 1", "  m_ReceiveGI: 1", "  m_PreserveUVs: 0",
            "  m_IgnoreNormalsForChartDetection: 0", "  m_ImportantGI: 0",
            "  m_StitchLightmapSeams: 1", "  m_SelectedEditorRenderState: 3",
            "  m_MinimumChartSize: 4", "  m_AutoUVMaxDistance: 0.5",
            "  m_AutoUVMaxAngle: 89", "  m_LightmapParameters: {fileID: 0}",
            "  m_SortingLayerID: 0", "  m_SortingLayer: 0", "  m_SortingOrder: 0",
            "  m_AdditionalVertexStreams: {fileID: 0}"])


def _docs(*docs: str) -> str:
    """YAML documents joined, each ending its line."""
    return "".join(d if d.endswith("\n") else d + "\n" for d in docs)


@functools.lru_cache(maxsize=1 << 12)
def _leaf_rotation(rotation: tuple[float, ...]) -> str:
    """A manifest rotation as a plain prop's ``m_LocalRotation``: the text ``_render_go``
    writes (``trs`` normalises, ``unity_rotation`` converts), once per distinct rotation — a
    big scene repeats a few (most props are not turned at all)."""
    return _q4(unity_rotation(quat_normalize((rotation[0], rotation[1], rotation[2],
                                              rotation[3]))))


@functools.lru_cache(maxsize=1 << 12)
def _leaf_scale(scale: tuple[float, ...]) -> str:
    """``_v3`` of a plain prop's scale, once per distinct scale (most props are not scaled)."""
    return _v3((scale[0], scale[1], scale[2]))


def _builtin_mesh(mesh_id: int) -> str:
    return f"{{fileID: {mesh_id}, guid: {BUILTIN_MESH_GUID}, type: 0}}"


def _plain(node: Node) -> bool:
    """A node that ``_SceneWriter._node`` turns into exactly one GameObject with a
    MeshFilter and a MeshRenderer (if it has no children either): a primitive at Unity's own
    size (no ``Mesh`` child), no model, body, collider, light, camera, audio or component."""
    mesh = node.mesh
    return (mesh is not None and mesh.primitive != "capsule" and node.model is None
            and node.body is None and node.collider is None and node.light is None
            and node.camera is None and node.audio is None and not node.components
            and _mesh_scale(node) == (1.0, 1.0, 1.0))


def _mesh_scale(node: Node) -> Vec3:
    """Scale turning Unity's built-in primitive into the manifest's primitive size."""
    mesh = node.mesh
    assert mesh is not None
    x, y, z = primitive_extent(mesh)
    if mesh.primitive == "plane":
        return (x / 10, y, z / 10)  # Unity's plane is 10 m by 10 m
    if mesh.primitive in ("capsule", "cylinder"):
        # Unity's capsule and cylinder are 2 m tall with a 0.5 m radius.
        height = max(y, x) if mesh.primitive == "capsule" else y
        return (x, height / 2, z)
    return (x, y, z)


def _native_collider_exact(shape: Shape, world: Matrix3) -> bool:
    """Whether Unity's native collider of ``shape`` is exact under the node's world matrix:
    PhysX scales a sphere or capsule by the largest axis scale and cannot shear a box."""
    if shape.kind == "box":
        return affine.is_unsheared(world)
    return affine.is_conformal(world)


def _capsule_parts(radius: float, height: float) -> list[tuple[str, str, float, Vec3]] | None:
    """(name, built-in mesh, offset along Y, scale) of the parts of a capsule that Unity's own
    capsule (radius 0.5, height 2) cannot be scaled into without distorting its caps; None
    when it can (height four times the radius) or there is no capsule (radius 0)."""
    if radius <= 0:
        return None
    r, h = radius, max(height, 2 * radius)
    if math.isclose(h, 4 * r, rel_tol=1e-9):
        return None
    straight = h - 2 * r
    ball = (2 * r, 2 * r, 2 * r)
    if straight <= 1e-9:
        return [("Ball", "sphere", 0.0, ball)]
    # Unity's cylinder is 2 m tall with a 0.5 m radius.
    return [("Body", "cylinder", 0.0, (2 * r, straight / 2, 2 * r)),
            ("Top", "sphere", straight / 2, ball), ("Bottom", "sphere", -straight / 2, ball)]


def _field(type_: str, name: str, value: Param) -> str:
    if isinstance(value, tuple):
        if type_ == "spin" and name == "axis":
            # An axis is a pseudo-vector: under glTFast's X mirror it maps like a quaternion's
            # vector part, (x, -y, -z), keeping the angle's sign.
            return _v3((value[0], -value[1], -value[2]))
        return _v3(value)  # sizes/extents: positive, unchanged by the mirror
    if isinstance(value, str):
        return _s(value)
    if isinstance(value, int):
        return str(value)
    return _f(value)


def _curve(name: str, keys: list[tuple[float, float]]) -> list[str]:
    lines = [f"  {name}:", "    serializedVersion: 2", "    m_Curve:"]
    for time, value in keys:
        lines += ["    - serializedVersion: 3", f"      time: {_f(time)}",
                  f"      value: {_f(value)}", "      inSlope: 0", "      outSlope: 0",
                  "      tangentMode: 0", "      weightedMode: 0",
                  "      inWeight: 0.33333334", "      outWeight: 0.33333334"]
    return [*lines, "    m_PreInfinity: 2", "    m_PostInfinity: 2", "    m_RotationOrder: 4"]


def _settings(scene: Scene) -> list[str]:
    """The four settings objects every Unity scene file starts with (fileIDs 1 to 4)."""
    env = scene.environment
    ambient = _rgba(env.ambient_color, 1.0, env.ambient_intensity)
    return [
        "--- !u!29 &1\nOcclusionCullingSettings:\n  m_ObjectHideFlags: 0\n  serializedVersion: 2\n"
        "  m_OcclusionBakeSettings:\n    smallestOccluder: 5\n    smallestHole: 0.25\n"
        "    backfaceThreshold: 100\n  m_SceneGUID: 00000000000000000000000000000000\n"
        "  m_OcclusionCullingData: {fileID: 0}\n",
        "--- !u!104 &2\nRenderSettings:\n  m_ObjectHideFlags: 0\n  serializedVersion: 10\n"
        "  m_Fog: 0\n  m_FogColor: {r: 0.5, g: 0.5, b: 0.5, a: 1}\n  m_FogMode: 3\n"
        "  m_FogDensity: 0.01\n  m_LinearFogStart: 0\n  m_LinearFogEnd: 300\n"
        f"  m_AmbientSkyColor: {ambient}\n  m_AmbientEquatorColor: {ambient}\n"
        f"  m_AmbientGroundColor: {ambient}\n  m_AmbientIntensity: 1\n"
        "  m_AmbientMode: 3\n"  # Flat: one ambient colour, as the manifest has
        f"  m_SubtractiveShadowColor: {{r: 0.42, g: 0.478, b: 0.627, a: 1}}\n"
        "  m_SkyboxMaterial: {fileID: 0}\n  m_HaloStrength: 0.5\n  m_FlareStrength: 1\n"
        "  m_FlareFadeSpeed: 3\n  m_HaloTexture: {fileID: 0}\n"
        f"  m_SpotCookie: {{fileID: 10001, guid: {BUILTIN_MESH_GUID}, type: 0}}\n"
        "  m_DefaultReflectionMode: 0\n  m_DefaultReflectionResolution: 128\n"
        "  m_ReflectionBounces: 1\n  m_ReflectionIntensity: 1\n"
        "  m_CustomReflection: {fileID: 0}\n  m_Sun: {fileID: 0}\n"
        "  m_UseRadianceAmbientProbe: 0\n",
        "--- !u!157 &3\nLightmapSettings:\n  m_ObjectHideFlags: 0\n  serializedVersion: 12\n"
        "  m_GIWorkflowMode: 1\n  m_GISettings:\n    serializedVersion: 2\n"
        "    m_BounceScale: 1\n    m_IndirectOutputScale: 1\n    m_AlbedoBoost: 1\n"
        "    m_EnvironmentLightingMode: 0\n    m_EnableBakedLightmaps: 0\n"
        "    m_EnableRealtimeLightmaps: 0\n  m_LightingDataAsset: {fileID: 0}\n"
        "  m_LightingSettings: {fileID: 0}\n",
        "--- !u!196 &4\nNavMeshSettings:\n  serializedVersion: 2\n  m_ObjectHideFlags: 0\n"
        "  m_BuildSettings:\n    serializedVersion: 3\n    agentTypeID: 0\n"
        "    agentRadius: 0.5\n    agentHeight: 2\n    agentSlope: 45\n    agentClimb: 0.4\n"
        "    ledgeDropHeight: 0\n    maxJumpAcrossDistance: 0\n    minRegionArea: 2\n"
        "    manualCellSize: 0\n    cellSize: 0.16666667\n    manualTileSize: 0\n"
        "    tileSize: 256\n    buildHeightMesh: 0\n    maxJobWorkers: 0\n"
        "    preserveTilesOutsideBounds: 0\n    debug:\n      m_Flags: 0\n"
        "  m_NavMeshData: {fileID: 0}\n",
    ]


# --- editor bootstrap -----------------------------------------------------------------------


def _cs_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) > 0x7E:
            out.append(f"\\u{ord(ch):04x}")  # keep the file ASCII whatever the names are
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _bootstrap(placements: list[tuple[str, str, str]]) -> bytes:
    rows = "\n".join(f"            new[] {{ {_cs_string(s)}, {_cs_string(p)}, {_cs_string(m)} }},"
                     for s, p, m in placements)
    return BOOTSTRAP.replace("            // PLACEMENTS\n", rows + "\n" if rows else "").encode()


BOOTSTRAP = '''// Generated by pacai-export. Places each glTF model under its GameObject once, after
// glTFast has imported it, then saves the scene and writes a marker so it never runs again.
using System.Collections.Generic;
using System.IO;
using System.Linq;
using UnityEditor;
using UnityEditor.SceneManagement;
using UnityEngine;
using UnityEngine.SceneManagement;

namespace Pacai.EditorTools
{
    [InitializeOnLoad]
    internal static class PacaiBootstrap
    {
        private const string Marker = "ProjectSettings/PacaiBootstrap.done";

        // scene path, GameObject path inside the scene, model asset path
        private static readonly string[][] Placements =
        {
            // PLACEMENTS
        };

        private enum Outcome { Placed, Present, Pending, Missing }

        static PacaiBootstrap()
        {
            EditorApplication.delayCall += Run;
        }

        internal static void Run()
        {
            if (File.Exists(Marker) || EditorApplication.isPlayingOrWillChangePlaymode)
            {
                return;
            }
            var pending = 0;
            foreach (var scenePath in Placements.Select(p => p[0]).Distinct())
            {
                pending += PlaceInScene(scenePath);
            }
            if (pending == 0)
            {
                File.WriteAllText(Marker, "pacai bootstrap done\\n");
            }
        }

        private static int PlaceInScene(string scenePath)
        {
            var scene = SceneManager.GetSceneByPath(scenePath);
            var opened = false;
            if (!scene.isLoaded)
            {
                scene = EditorSceneManager.OpenScene(scenePath, OpenSceneMode.Additive);
                opened = true;
            }
            var pending = 0;
            var changed = false;
            foreach (var row in Placements.Where(p => p[0] == scenePath))
            {
                var outcome = Place(scene, row[1], row[2]);
                pending += outcome == Outcome.Pending ? 1 : 0;
                changed |= outcome == Outcome.Placed;
            }
            if (changed)
            {
                EditorSceneManager.SaveScene(scene);
            }
            if (opened)
            {
                EditorSceneManager.CloseScene(scene, true);
            }
            return pending;
        }

        private static Outcome Place(Scene scene, string objectPath, string modelPath)
        {
            var parent = Find(scene, objectPath);
            if (parent == null)
            {
                Debug.LogWarning($"pacai: no GameObject {objectPath} in {scene.path}");
                return Outcome.Missing;
            }
            var name = Path.GetFileNameWithoutExtension(modelPath);
            if (Child(parent, name) != null)
            {
                return Outcome.Present;
            }
            var model = AssetDatabase.LoadAssetAtPath<GameObject>(modelPath);
            if (model == null)
            {
                return Outcome.Pending; // not imported yet: the postprocessor calls Run again
            }
            var instance = (GameObject)PrefabUtility.InstantiatePrefab(model, scene);
            instance.name = name;
            instance.transform.SetParent(parent, false);
            return Outcome.Placed;
        }

        private static Transform Find(Scene scene, string path)
        {
            var parts = path.Split('/');
            foreach (var root in scene.GetRootGameObjects())
            {
                if (root.name != parts[0])
                {
                    continue;
                }
                var current = root.transform;
                for (var i = 1; i < parts.Length && current != null; i++)
                {
                    current = Child(current, parts[i]);
                }
                if (current != null)
                {
                    return current;
                }
            }
            return null;
        }

        private static Transform Child(Transform parent, string name)
        {
            for (var i = 0; i < parent.childCount; i++)
            {
                if (parent.GetChild(i).name == name)
                {
                    return parent.GetChild(i);
                }
            }
            return null;
        }
    }

    internal sealed class PacaiBootstrapPostprocessor : AssetPostprocessor
    {
        private static void OnPostprocessAllAssets(string[] imported, string[] deleted,
            string[] moved, string[] movedFrom)
        {
            if (imported.Any(p => p.EndsWith(".glb", System.StringComparison.OrdinalIgnoreCase)))
            {
                EditorApplication.delayCall += PacaiBootstrap.Run;
            }
        }
    }
}
'''

# --- MonoBehaviours -------------------------------------------------------------------------

SCRIPTS: dict[str, str] = {
    "spin": '''using UnityEngine;

/// <summary>Spins the GameObject about a local axis (generated by pacai-export).</summary>
public class Spin : MonoBehaviour
{
    public float degrees_per_second = 90f;
    public Vector3 axis = Vector3.up;

    private void Update()
    {
        if (axis.sqrMagnitude > 0f)
        {
            transform.Rotate(axis.normalized, degrees_per_second * Time.deltaTime, Space.Self);
        }
    }
}
''',
    "bob": '''using UnityEngine;

/// <summary>Moves the GameObject up and down around its start position.</summary>
public class Bob : MonoBehaviour
{
    public float amplitude = 0.25f;
    public float frequency = 0.5f;

    private Vector3 origin;

    private void Start()
    {
        origin = transform.localPosition;
    }

    private void Update()
    {
        var offset = Mathf.Sin(Time.time * 2f * Mathf.PI * frequency) * amplitude;
        transform.localPosition = origin + Vector3.up * offset;
    }
}
''',
    "player_controller": '''using UnityEngine;

/// <summary>WASD / arrow keys to move (camera-relative), Space to jump.</summary>
public class PlayerController : MonoBehaviour
{
    public float speed = 5f;
    public float jump_velocity = 4.5f;

    private Rigidbody body;
    private bool jumpRequested;

    private void Awake()
    {
        body = GetComponent<Rigidbody>();
        gameObject.tag = "Player";
    }

    private void Update()
    {
        if (Input.GetKeyDown(KeyCode.Space))
        {
            jumpRequested = true;
        }
    }

    private void FixedUpdate()
    {
        var move = Direction() * speed;
        if (body != null && !body.isKinematic)
        {
            var velocity = body.linearVelocity;
            velocity.x = move.x;
            velocity.z = move.z;
            if (jumpRequested && Grounded())
            {
                velocity.y = jump_velocity;
            }
            body.linearVelocity = velocity;
        }
        else if (body != null)
        {
            body.MovePosition(body.position + move * Time.fixedDeltaTime);
        }
        else
        {
            transform.position += move * Time.fixedDeltaTime;
        }
        jumpRequested = false;
    }

    private Vector3 Direction()
    {
        var x = Key(KeyCode.D, KeyCode.RightArrow) - Key(KeyCode.A, KeyCode.LeftArrow);
        var z = Key(KeyCode.W, KeyCode.UpArrow) - Key(KeyCode.S, KeyCode.DownArrow);
        var cam = Camera.main;
        var forward = Vector3.forward;
        var right = Vector3.right;
        if (cam != null)
        {
            forward = Vector3.ProjectOnPlane(cam.transform.forward, Vector3.up).normalized;
            right = Vector3.ProjectOnPlane(cam.transform.right, Vector3.up).normalized;
        }
        return Vector3.ClampMagnitude(forward * z + right * x, 1f);
    }

    private static float Key(KeyCode a, KeyCode b)
    {
        return Input.GetKey(a) || Input.GetKey(b) ? 1f : 0f;
    }

    private bool Grounded()
    {
        var col = GetComponent<Collider>();
        var half = col != null ? col.bounds.extents.y : 0.5f;
        return Physics.Raycast(transform.position, Vector3.down, half + 0.1f);
    }
}
''',
    "pickup": '''using UnityEngine;

/// <summary>Disappears when the player comes within radius; raises PickedUp.</summary>
public class Pickup : MonoBehaviour
{
    public static event System.Action<int> PickedUp;

    public int value = 1;
    public float radius = 1f;

    private void Update()
    {
        var player = GameObject.FindWithTag("Player");
        if (player == null)
        {
            return;
        }
        if (Vector3.Distance(player.transform.position, transform.position) <= radius)
        {
            PickedUp?.Invoke(value);
            gameObject.SetActive(false);
        }
    }
}
''',
    "spawn_point": '''using UnityEngine;

/// <summary>Marks a place where players spawn.</summary>
public class SpawnPoint : MonoBehaviour
{
    public int index;

    private void OnDrawGizmos()
    {
        Gizmos.color = Color.green;
        Gizmos.DrawWireSphere(transform.position, 0.5f);
    }
}
''',
    "trigger_zone": '''using UnityEngine;

/// <summary>Raises Entered/Exited when the player enters or leaves a local box.</summary>
public class TriggerZone : MonoBehaviour
{
    public event System.Action<GameObject, string> Entered;
    public event System.Action<GameObject, string> Exited;

    public Vector3 size = new Vector3(2f, 2f, 2f);
    public string @event = "triggered";

    private bool inside;

    private void Update()
    {
        var player = GameObject.FindWithTag("Player");
        if (player == null)
        {
            return;
        }
        var local = transform.InverseTransformPoint(player.transform.position);
        var now = Mathf.Abs(local.x) <= size.x / 2f && Mathf.Abs(local.y) <= size.y / 2f
            && Mathf.Abs(local.z) <= size.z / 2f;
        if (now && !inside)
        {
            Entered?.Invoke(player, @event);
        }
        else if (!now && inside)
        {
            Exited?.Invoke(player, @event);
        }
        inside = now;
    }

    private void OnDrawGizmos()
    {
        Gizmos.matrix = transform.localToWorldMatrix;
        Gizmos.DrawWireCube(Vector3.zero, size);
    }
}
''',
}

COMPONENT_DATA_SCRIPT = '''using UnityEngine;

/// <summary>A manifest component with no generated behaviour, kept as data.</summary>
public class PacaiComponentData : MonoBehaviour
{
    public string type;
    [TextArea] public string params_json;
}
'''
