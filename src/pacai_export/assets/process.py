"""One asset through its processing step, in a CPU-pool process: textures resized to the
quality tier, models simplified (and their images resized), audio passed through; and an
image that models refer to by URI, processed once for every model of the job that uses it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, LimitExceeded
from .limits import DecodeLimits

# Model modules (numpy, meshoptimizer) are imported inside the functions: the worker's event
# loop process imports this module but never runs it.
Externals = Mapping[str, tuple[Path, bool]]  # URI in the model → (local file, processed)


def process_asset(kind: str, src: Path, target: Path, quality: str, color_space: str,
                  max_pixels: int, externals: Externals | None = None,
                  decode: DecodeLimits | None = None) -> Path:
    """Process ``src`` into ``target``'s folder; return the file written (named after
    ``target``). ``externals``: the files a model refers to (``models.external_references``).
    Raises ``InvalidInput``/``LimitExceeded`` for a bad or oversized file."""
    with _refused_as_input(src.name):
        return _process(kind, src, target, quality, color_space, max_pixels, externals,
                        decode or DecodeLimits())


@contextlib.contextmanager
def _refused_as_input(name: str) -> Iterator[None]:
    """What a file's size or shape makes Python give up on is the file's fault: an error
    naming it, never retried — not a crash or a bug report."""
    try:
        yield
    except MemoryError:
        # The process's address-space cap (or the machine) said no.
        raise LimitExceeded(f"{name}: processing it needs more memory than a worker "
                            "process may use") from None
    except (RecursionError, OverflowError) as exc:
        raise InvalidInput(f"{name}: too deeply nested or out of range "
                           f"({type(exc).__name__})") from None


def _process(kind: str, src: Path, target: Path, quality: str, color_space: str,
             max_pixels: int, externals: Externals | None, decode: DecodeLimits) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "texture":
        from .textures import process_texture

        done = process_texture(src, target.parent, quality=quality, color_space=color_space,
                               max_pixels=max_pixels, decode=decode).path
    elif kind == "model":
        from .models import External, process_model

        files = {uri: External(path, ready) for uri, (path, ready) in (externals or {}).items()}
        done = process_model(src, target.parent, quality=quality, max_pixels=max_pixels,
                             externals=files, decode=decode).path
    else:
        shutil.copyfile(src, target)
        return target
    if done != target:
        done.replace(target)
    return target


def process_referenced_image(src: Path, target: Path, quality: str, color_space: str,
                             max_pixels: int, what: str) -> Path:
    """A model's external image sized for ``quality`` (PNG and JPEG; other formats, such as
    WebP or KTX2, pass through as the models would pass them) and written to ``target``."""
    from .textures import image_format, process_image

    with _refused_as_input(what):
        data = src.read_bytes()
        if image_format(data) is not None:
            data = process_image(data, quality=quality, color_space=color_space,
                                 max_pixels=max_pixels, what=what).data
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def model_references(src: Path) -> list[dict[str, Any]]:
    """``models.external_references`` as plain data (it crosses the process boundary)."""
    from .models import external_references

    return [{"uri": r.uri, "kind": r.kind, "color_space": r.color_space, "field": r.field}
            for r in external_references(src)]


def model_triangles(path: Path) -> tuple[int, int]:
    """(source triangles, triangles) of a processed model."""
    from .models import model_triangles as count

    return count(path)
