"""Ed25519 keys: load, generate, and the key id every signature carries."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigError


def keyid(raw_public: bytes) -> str:
    """``ed25519:<first 16 hex of SHA-256 of the raw 32-byte public key>``."""
    return "ed25519:" + hashlib.sha256(raw_public).hexdigest()[:16]


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_private(path: Path, variable: str = "SIGNING_KEY_FILE") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{variable}: {path} is not an unencrypted PEM private key: "
                          f"{exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{variable}: {path} is not an Ed25519 key")
    return key


def load_public(pem: bytes, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ValueError(f"{source}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{source}: not an Ed25519 public key")
    return key


def generate(out_dir: Path, name: str) -> tuple[Path, Path, str]:
    """Write ``<name>.key`` (PKCS#8 PEM, mode 0600) and ``<name>.pub``; return them and the
    key id. Refuses to overwrite an existing key."""
    key = Ed25519PrivateKey.generate()
    private_path, public_path = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    out_dir.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with private_path.open("xb") as fh:
        private_path.chmod(0o600)
        fh.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path, keyid(raw_public(key.public_key()))
