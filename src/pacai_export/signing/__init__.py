"""Bundle signing (§8): DSSE envelopes over ``bundle.json``, Ed25519 keys from a PEM file or
a PKCS#11 token, and verification of a downloaded bundle."""

from __future__ import annotations

from ..settings import Settings
from .signers import FileSigner, Pkcs11Signer, Signer

__all__ = ["FileSigner", "Pkcs11Signer", "Signer", "open_signer"]


def open_signer(settings: Settings) -> Signer | None:
    """The signer the settings configure, or None (bundles unsigned)."""
    if settings.signing_key_file is not None:
        return FileSigner(settings.signing_key_file)
    if settings.pkcs11_module is not None:
        return Pkcs11Signer(settings.pkcs11_module, settings.pkcs11_token_label or "",
                            settings.pkcs11_pin or "", settings.pkcs11_key_label or "")
    return None
