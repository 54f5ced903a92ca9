"""Signers: Ed25519 from a PEM file, or through a PKCS#11 token (the production HSM path).

A signer has a ``keyid`` and an async ``sign``; PKCS#11 calls block, so they run in a thread.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, TransientError

# ``.keys`` (and with it the cryptography package, 9 MiB) is imported by the signers that
# use it, so a worker that does not sign never loads it.


class Signer(Protocol):
    keyid: str

    async def sign(self, data: bytes) -> bytes: ...

    async def aclose(self) -> None: ...


class FileSigner:
    def __init__(self, path: Path) -> None:
        from .keys import keyid, load_private, raw_public

        self._key = load_private(path)
        self.keyid = keyid(raw_public(self._key.public_key()))

    async def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    async def aclose(self) -> None:
        return None


class Pkcs11Signer:
    """Signs with an Ed25519 private key held by a PKCS#11 token (CKM_EDDSA); the key never
    leaves it. One session, used by one thread at a time."""

    def __init__(self, module: Path, token_label: str, pin: str, key_label: str) -> None:
        try:
            import pkcs11  # optional dependency (extra "hsm"), loaded only when configured
        except ImportError:
            raise ConfigError("PKCS11_MODULE: needs python-pkcs11 "
                              "(pip install 'pacai-export[hsm]')") from None
        self._pkcs11: Any = pkcs11
        try:
            token = pkcs11.lib(str(module)).get_token(token_label=token_label)
            self._session = token.open(user_pin=pin)
            attr, cls = pkcs11.Attribute, pkcs11.ObjectClass
            self._private: Any = self._session.get_key(cls.PRIVATE_KEY, label=key_label)
            public = self._session.get_key(cls.PUBLIC_KEY, label=key_label)
            point = bytes(public[attr.EC_POINT])
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ConfigError(f"PKCS11_MODULE: cannot use key {key_label!r} on token "
                              f"{token_label!r}: {detail}") from None
        from .keys import keyid

        # EC_POINT is a DER OCTET STRING around the 32-byte Ed25519 public key.
        self.keyid = keyid(point[-32:])
        self._lock = threading.Lock()

    def _sign(self, data: bytes) -> bytes:
        with self._lock:
            signature: bytes = self._private.sign(data, mechanism=self._pkcs11.Mechanism.EDDSA)
            return signature

    async def sign(self, data: bytes) -> bytes:
        try:
            return await asyncio.to_thread(self._sign, data)
        except self._pkcs11.PKCS11Error as exc:
            raise TransientError(f"PKCS#11 signing failed: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await asyncio.to_thread(self._session.close)
