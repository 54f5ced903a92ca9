"""Signed bundles: keys from a PEM file and from a PKCS#11 token (SoftHSM2), and `verify`
catching every kind of tampering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pacai_export.settings import Settings
from tests.helpers import finished, job_data

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "pacai-export")
MANIFEST = ROOT / "examples" / "platformer" / "manifest.json"
SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Any]:
    made = {}
    for name in ("current", "next"):
        proc = cli("keygen", "--out", str(tmp_path / "keys"), "--name", name)
        assert proc.returncode == 0, proc.stderr
        made[name] = json.loads(proc.stdout)
    return made


@pytest.fixture
def signed_bundle(tmp_path: Path, keys: dict[str, Any]) -> Path:
    proc = cli("export", str(MANIFEST), "--engines", "godot,unity", "--out", str(tmp_path / "out"),
               env={"SIGNING_KEY_FILE": keys["current"]["private_key"]})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["signed"] is True
    return tmp_path / "out" / "platformer.zip"


def test_keygen_writes_a_private_key_only_its_owner_reads(keys: dict[str, Any]) -> None:
    private = Path(keys["current"]["private_key"])
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    assert keys["current"]["keyid"].startswith("ed25519:")
    again = cli("keygen", "--out", str(private.parent), "--name", "current")
    assert again.returncode == 1
    assert again.stderr.strip() == f"pacai-export: {private} exists; not overwriting a key"


def test_signed_bundle_verifies(signed_bundle: Path, keys: dict[str, Any]) -> None:
    with zipfile.ZipFile(signed_bundle) as zf:
        envelope = json.loads(zf.read("bundle.json.sig"))
    assert envelope["payloadType"] == "application/vnd.pacai.bundle+json"
    assert envelope["signatures"][0]["keyid"] == keys["current"]["keyid"]
    proc = cli("verify", str(signed_bundle), "--public-key", keys["next"]["public_key"],
               "--public-key", keys["current"]["public_key"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"signature by {keys['current']['keyid']}")


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], tuple[str, bytes] | None]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            changed = change(info.filename, zin.read(info))
            if changed is not None:
                zout.writestr(changed[0], changed[1])
    return dst


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


@pytest.mark.parametrize(("tamper", "expected"), [
    (lambda n, d: (n, flip_last_byte(d)) if n == "godot/project.godot" else (n, d),
     ["FAIL godot/project.godot: sha256 does not match bundle.json"]),
    (lambda n, d: ("godot/scenes/evil.tscn" if n == "godot/scenes/level_1.tscn" else n, d),
     ["FAIL godot/scenes/evil.tscn: not listed in bundle.json",
      "FAIL godot/scenes/level_1.tscn: listed in bundle.json but missing"]),
    (lambda n, d: (n, d.replace(b'"quality": "high"', b'"quality": "low" ')) if n == "bundle.json"
     else (n, d),
     ["FAIL bundle.json.sig: signs a different bundle.json than the one in the zip"]),
    (lambda n, d: None if n == "bundle.json.sig" else (n, d),
     ["FAIL bundle.json.sig: missing, so the bundle cannot be authenticated"]),
])
def test_verify_catches_tampering(signed_bundle: Path, keys: dict[str, Any], tmp_path: Path,
                                  tamper: Any, expected: list[str]) -> None:
    bad = rewrite(signed_bundle, tmp_path / "bad.zip", tamper)
    proc = cli("verify", str(bad), "--public-key", keys["current"]["public_key"])
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[:-1] == expected
    assert lines[-1].startswith(f"pacai-export: {bad}: verification failed")


def test_verify_catches_a_forged_signature(signed_bundle: Path, keys: dict[str, Any],
                                           tmp_path: Path) -> None:
    def forge(name: str, data: bytes) -> tuple[str, bytes]:
        if name != "bundle.json.sig":
            return name, data
        doc = json.loads(data)
        sig = bytearray(__import__("base64").b64decode(doc["signatures"][0]["sig"]))
        sig[0] ^= 0xFF
        doc["signatures"][0]["sig"] = __import__("base64").b64encode(bytes(sig)).decode()
        return name, json.dumps(doc).encode()
    bad = rewrite(signed_bundle, tmp_path / "forged.zip", forge)
    proc = cli("verify", str(bad), "--public-key", keys["current"]["public_key"])
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f"FAIL bundle.json.sig: the signature by {keys['current']['keyid']} does not verify")


def test_verify_with_the_wrong_key(signed_bundle: Path, keys: dict[str, Any]) -> None:
    proc = cli("verify", str(signed_bundle), "--public-key", keys["next"]["public_key"])
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f"FAIL bundle.json.sig: signed by {keys['current']['keyid']}, which is none of the "
        f"given keys ({keys['next']['keyid']})")


def test_unsigned_bundle_checks_hashes_only(tmp_path: Path) -> None:
    proc = cli("export", str(MANIFEST), "--engines", "ue5", "--out", str(tmp_path))
    assert proc.returncode == 0
    verified = cli("verify", str(tmp_path / "platformer.zip"))
    assert verified.returncode == 0
    assert verified.stdout.strip().endswith("files match bundle.json, signature not checked")


# --- PKCS#11 through SoftHSM2 --------------------------------------------------------------


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A SoftHSM2 token of our own with an Ed25519 key pair generated inside it. One for the
    session: the PKCS#11 library is loaded once per process and reads SOFTHSM2_CONF only when
    it initialises, so its token folder must outlive any one test's tmp_path."""
    tmp_path = tmp_path_factory.mktemp("softhsm")
    if not SOFTHSM_MODULE.exists() or not shutil.which("softhsm2-util"):
        pytest.fail("SoftHSM2 is not installed: run `make setup` (apt-get install softhsm2)")
    import pkcs11
    from pkcs11.util.ec import encode_named_curve_parameters

    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "exports",
                    "--pin", "1234", "--so-pin", "5678"], env={**os.environ, **env},
                   check=True, capture_output=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))  # read when the library initialises, here
        token = pkcs11.lib(str(SOFTHSM_MODULE)).get_token(token_label="exports")
    attr = pkcs11.Attribute
    with token.open(rw=True, user_pin="1234") as session:
        public, _ = session.generate_keypair(
            pkcs11.KeyType.EC_EDWARDS, mechanism=pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            public_template={attr.EC_PARAMS: encode_named_curve_parameters("1.3.101.112"),
                             attr.LABEL: "bundle-signing", attr.TOKEN: True},
            private_template={attr.LABEL: "bundle-signing", attr.TOKEN: True, attr.SIGN: True,
                              attr.SENSITIVE: True, attr.EXTRACTABLE: False})
        raw = bytes(public[attr.EC_POINT])[-32:]
    pem = tmp_path / "hsm.pub"
    pem.write_bytes(Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return {**env, "PKCS11_MODULE": str(SOFTHSM_MODULE), "PKCS11_TOKEN_LABEL": "exports",
            "PKCS11_PIN": "1234", "PKCS11_KEY_LABEL": "bundle-signing", "public_key": str(pem)}


def test_pkcs11_signed_export_verifies(softhsm: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in softhsm.items() if k != "public_key"}
    proc = cli("export", str(MANIFEST), "--engines", "godot", "--out", str(tmp_path / "out"),
               env=env)
    assert proc.returncode == 0, proc.stderr
    verified = cli("verify", str(tmp_path / "out" / "platformer.zip"), "--public-key",
                   softhsm["public_key"])
    assert verified.returncode == 0, verified.stderr
    assert "signature by ed25519:" in verified.stdout


def test_pkcs11_wrong_pin_is_a_config_error(softhsm: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in softhsm.items() if k != "public_key"}
    proc = cli("export", str(MANIFEST), "--out", str(tmp_path), env={**env, "PKCS11_PIN": "0000"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "pacai-export: configuration error: PKCS11_MODULE: cannot use key 'bundle-signing' on "
        "token 'exports': PinIncorrect")


async def test_worker_signs_bundles(settings: Settings, start_worker: Any, client: Any,
                                    keys: dict[str, Any]) -> None:
    start_worker(settings, SIGNING_KEY_FILE=keys["current"]["private_key"])
    status = await finished(client, await client.enqueue(job_data("signed-arena")))
    assert status["result"]["signed"] is True
    bundle = settings.exports_dir / status["result"]["key"]
    proc = cli("verify", str(bundle), "--public-key", keys["current"]["public_key"])
    assert proc.returncode == 0, proc.stderr
