"""Assets for ``include_assets: true``: fetch (guarded), check, process per quality tier,
cache across jobs. ``gather`` is the entry point the pipeline calls."""

from __future__ import annotations

from .gather import GatheredAssets

__all__ = ["GatheredAssets"]
