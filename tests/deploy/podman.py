"""Podman helpers for the container tests: a local base image, the worker image, containers.

No registry holds base images on this machine kind, so the base comes from the Debian mirror
that apt already uses (read from the apt sources at run time) through ``debootstrap``; a Python
base is built on it, then ``deploy/docker/Dockerfile`` with ``PYTHON_IMAGE`` pointing at that
base. pip inside the build gets the host's own index settings (read from ``pip config`` at run
time) as build arguments, and the local paths they name are mounted read-only into the build.
Images stay cached in podman's storage, so a second run on the same machine only checks them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "container"
CONTAINERS_CONF = HERE / "containers.conf"
DEBIAN_IMAGE = "localhost/debian:bookworm-slim"
PYTHON_IMAGE = "localhost/pacai-python:3.11-bookworm"
WORKER_IMAGE = "localhost/pacai-export-worker:test"
APP_UID = 10001
# What the official "slim" images leave out; saves the base ~130 MB.
SLIM_PATHS = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
              "usr/share/info", "usr/share/locale")
PIP_OPTIONS = {"index-url": "PIP_INDEX_URL", "extra-index-url": "PIP_EXTRA_INDEX_URL",
               "find-links": "PIP_FIND_LINKS", "trusted-host": "PIP_TRUSTED_HOST",
               "cert": "PIP_CERT"}
# Where the host's local pip paths (certificate, file:// indexes) appear inside a build.
BUILD_MOUNT = "/run/host-pip"


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, check: bool = True, timeout: float = 120,
           stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run one podman command; a failure shows its output."""
    proc = subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True,
                          timeout=timeout, check=False,
                          input=stdin.decode() if stdin is not None else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def missing_tools() -> list[str]:
    return [t for t in ("podman", "runc", "debootstrap") if shutil.which(t) is None]


# --- the host's settings, read at run time -------------------------------------------------


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The URI of the first apt source that serves Debian bookworm's ``main``."""
    for path in sorted(sources.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.+)$", stanza, re.M))
            suites = fields.get("Suites", "").split()
            if "bookworm" in suites and "main" in fields.get("Components", "").split():
                return fields["URIs"].split()[0]
    for path in [sources / "sources.list", *sorted(sources.glob("sources.list.d/*.list"))]:
        if path.exists():
            for line in path.read_text().splitlines():
                match = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s+.*\bmain\b", line)
                if match:
                    return match.group(1)
    raise AssertionError("no apt source for Debian bookworm main: debootstrap needs a mirror")


def host_pip_config() -> dict[str, str]:
    """The pip options this host uses (its config files and PIP_* environment)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                         text=True, check=True).stdout
    config: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"^[^.]*\.([\w-]+)='(.*)'$", line)
        if match and match.group(1) in PIP_OPTIONS:
            config.setdefault(match.group(1), match.group(2))
    for option, var in PIP_OPTIONS.items():
        if os.environ.get(var):
            config[option] = os.environ[var]
    return config


@dataclass
class PipBuildSettings:
    build_args: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)


def pip_build_settings() -> PipBuildSettings:
    """Build arguments (PIP_*) and read-only mounts that give pip the host's indexes.

    Local indexes and wheel folders appear at the same path inside the build (a ``simple/``
    index links to its files relatively, so its parent folder is mounted); the certificate
    bundle appears under ``BUILD_MOUNT``.
    """
    result = PipBuildSettings()
    mounted: set[str] = set()

    def mount(path: Path, inside: Path) -> None:
        if str(path) not in mounted:
            mounted.add(str(path))
            result.volumes.append(f"{path}:{inside}:ro")

    for option, value in host_pip_config().items():
        items = []
        for item in value.split():
            url = urlparse(item)
            local = url.path if url.scheme == "file" else item if url.scheme == "" else None
            if local is None or option == "trusted-host":
                items.append(item)
                continue
            path = Path(local)
            if not path.exists():
                continue  # pip ignores a missing location; so does the build
            if option == "cert":
                mount(path, Path(BUILD_MOUNT) / "cert.pem")
                item = f"{BUILD_MOUNT}/cert.pem"
            else:
                root = path.parent if path.name == "simple" else path
                mount(root, root)
            items.append(item)
        if items:
            result.build_args[PIP_OPTIONS[option]] = " ".join(items)
    return result


# --- images -----------------------------------------------------------------------------------


def build_debian_base() -> None:
    """``debootstrap --variant=minbase bookworm`` from the host's mirror, slimmed, imported."""
    if image_exists(DEBIAN_IMAGE):
        return
    rootfs = Path(tempfile.mkdtemp(prefix="pacai-rootfs-"))
    try:
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs),
                        apt_mirror()], check=True, capture_output=True, timeout=900)
        for rel in SLIM_PATHS:
            target = rootfs / rel
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and child.name != "partial":
                        shutil.rmtree(child)
                    elif child.is_file():
                        child.unlink()
        for cache in (rootfs / "var/cache/apt").glob("*.bin"):
            cache.unlink()
        (rootfs / "etc/dpkg/dpkg.cfg.d/slim").write_text(
            "".join(f"path-exclude=/{rel}/*\n" for rel in SLIM_PATHS[2:]))
        # No package caches in any layer built on this base (as Debian's own images do).
        (rootfs / "etc/apt/apt.conf.d/slim").write_text(
            'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n')
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        imported = subprocess.run(["podman", "import", "-", DEBIAN_IMAGE], stdin=tar.stdout,
                                  env=podman_env(), capture_output=True, timeout=600,
                                  check=False)
        assert tar.stdout is not None
        tar.stdout.close()
        assert tar.wait() == 0 and imported.returncode == 0, imported.stderr
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def build(containerfile: Path, tag: str, context: Path, *, build_args: dict[str, str] | None = None,
          volumes: Sequence[str] = ()) -> float:
    """``podman build``; the seconds it took."""
    # Docker format: the OCI image config has no HEALTHCHECK, so podman would drop it.
    args = ["build", "--format=docker", "--network=host", "--layers", "-f", str(containerfile),
            "-t", tag]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    for volume in volumes:
        args += ["--volume", volume]
    started = time.monotonic()
    podman(*args, str(context), timeout=1800)
    return time.monotonic() - started


def build_images() -> dict[str, float]:
    """The Debian and Python bases, then the worker image from ``deploy/docker/Dockerfile``."""
    build_debian_base()
    pip = pip_build_settings()
    if not image_exists(PYTHON_IMAGE):
        build(HERE / "python-base.Containerfile", PYTHON_IMAGE, HERE,
              build_args={"BASE_IMAGE": DEBIAN_IMAGE})
    previous = image_id(WORKER_IMAGE)
    seconds = build(ROOT / "deploy/docker/Dockerfile", WORKER_IMAGE, ROOT,
                    build_args={"PYTHON_IMAGE": PYTHON_IMAGE,
                                "BUILD_PACKAGES": "build-essential python3-dev",
                                **pip.build_args},
                    volumes=pip.volumes)
    if previous and previous != image_id(WORKER_IMAGE):
        # The superseded image (320 MB) would stay behind untagged after every source change.
        podman("rmi", previous, check=False)
    return {"worker_build_s": seconds}


def image_id(name: str) -> str | None:
    out = podman("image", "inspect", "--format", "{{.Id}}", name, check=False)
    return out.stdout.strip() or None if out.returncode == 0 else None


def image_size(name: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout.strip())


# --- containers -------------------------------------------------------------------------------


@dataclass
class Container:
    name: str
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self, path: str) -> int:
        try:
            return httpx.get(self.base + path, timeout=2).status_code
        except httpx.HTTPError:
            return 0

    def running(self) -> bool:
        out = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return out.stdout.strip() == "true"

    def wait_status(self, path: str, code: int, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status(path) == code:
                return True
            if not self.running():
                return False
            time.sleep(0.05)
        return False

    def logs(self) -> str:
        out = podman("logs", self.name, check=False)
        return out.stdout + out.stderr

    def exit_code(self) -> int:
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout)


def volume_dir(path: Path) -> Path:
    """A host folder the container's non-root user can write (the exports volume)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, APP_UID, APP_UID)
    return path


@contextlib.contextmanager
def containers() -> Iterator[list[Container]]:
    """Containers started in a test; every one is removed at the end, running or not."""
    started: list[Container] = []
    try:
        yield started
    finally:
        for c in started:
            podman("rm", "--force", "--volumes", "--time", "0", c.name, check=False)


def run_worker(started: list[Container], port: int, exports: Path, env: dict[str, str],
               *extra: str) -> Container:
    """``podman run -d`` the worker image: host network, read-only root, exports writable."""
    name = f"pacai-test-{uuid.uuid4().hex[:10]}"
    args = ["run", "-d", "--name", name, "--network=host", "--read-only",
            "--read-only-tmpfs=false", "--volume", f"{exports}:/data/exports:rw",
            "--env", f"HEALTH_PORT={port}"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    podman(*args, *extra, WORKER_IMAGE)
    container = Container(name, port)
    started.append(container)
    return container


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
