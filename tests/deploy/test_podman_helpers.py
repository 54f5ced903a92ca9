"""The container tests' reading of the host's settings: apt's mirror and pip's indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import podman as pm


def test_apt_mirror_reads_deb822_sources_and_skips_other_suites(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "a-node.sources").write_text(
        "Types: deb\nURIs: https://packages.example.test/node\nSuites: nodistro\n"
        "Components: main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.test/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example.test/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n")
    assert pm.apt_mirror(tmp_path) == "http://mirror.example.test/debian"


def test_apt_mirror_reads_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://legacy.example.test/debian bookworm main contrib\n")
    assert pm.apt_mirror(tmp_path) == "http://legacy.example.test/debian"


def test_apt_mirror_without_bookworm_fails_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://x.example.test/ubuntu noble main\n")
    with pytest.raises(AssertionError) as exc:
        pm.apt_mirror(tmp_path)
    assert str(exc.value) == "no apt source for Debian bookworm main: debootstrap needs a mirror"


def test_pip_build_settings_mount_local_indexes_and_the_certificate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "mirror" / "simple"
    index.mkdir(parents=True)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    cert = tmp_path / "ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(pm, "host_pip_config", lambda: {
        "index-url": "https://pypi.example.test/simple",
        "extra-index-url": f"file://{index} file://{tmp_path}/missing/simple",
        "find-links": str(wheels), "cert": str(cert), "trusted-host": "pypi.example.test"})
    settings = pm.pip_build_settings()
    assert settings.build_args == {
        "PIP_INDEX_URL": "https://pypi.example.test/simple",
        "PIP_EXTRA_INDEX_URL": f"file://{index}",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_CERT": f"{pm.BUILD_MOUNT}/cert.pem",
        "PIP_TRUSTED_HOST": "pypi.example.test",
    }
    # a simple/ index links to ../files: its parent is mounted, at the same path
    assert sorted(settings.volumes) == sorted([
        f"{index.parent}:{index.parent}:ro", f"{wheels}:{wheels}:ro",
        f"{cert}:{pm.BUILD_MOUNT}/cert.pem:ro"])


def test_host_pip_config_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example.test/simple")
    assert pm.host_pip_config()["index-url"] == "https://env.example.test/simple"
