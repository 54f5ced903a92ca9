"""The worker image, built once per test session for the container and local-stack tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy import podman as pm


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    missing = pm.missing_tools()
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run `make setup` (its apt step)")
    figures = pm.build_images()
    print(f"\nworker image build: {figures['worker_build_s']:.1f} s (cached layers reused)")
    yield pm.WORKER_IMAGE
