"""One asset through its processing step, in a CPU-pool process: textures resized to the
quality tier, models simplified (and their images resized), audio passed through."""

from __future__ import annotations

import shutil
from pathlib import Path


def process_asset(kind: str, src: Path, target: Path, quality: str, color_space: str,
                  max_pixels: int) -> Path:
    """Process ``src`` into ``target``'s folder; return the file written (named after
    ``target``). Raises ``InvalidInput``/``LimitExceeded`` for a bad or oversized file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "texture":
        from .textures import process_texture

        done = process_texture(src, target.parent, quality=quality, color_space=color_space,
                               max_pixels=max_pixels).path
    elif kind == "model":
        from .models import process_model

        done = process_model(src, target.parent, quality=quality, max_pixels=max_pixels).path
    else:
        shutil.copyfile(src, target)
        return target
    if done != target:
        done.replace(target)
    return target
