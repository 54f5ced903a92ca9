"""``pacai-export verify``: a downloaded bundle against its ``bundle.json`` and signature.

Checks every entry's size and SHA-256 against ``bundle.json``, that nothing is missing,
added or renamed, and — when public keys are given — that ``bundle.json.sig`` is a DSSE
envelope over this exact ``bundle.json`` signed by one of them. Collects every problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..bundle import BUNDLE_JSON, FILE_BLOCK
from ..errors import VerificationFailed
from . import dsse
from .keys import keyid, raw_public

SIGNATURE = dsse.SIGNATURE


@dataclasses.dataclass(frozen=True)
class Verified:
    files: int
    keyid: str | None  # the key that signed, when keys were given


def verify_bundle(path: Path, public_keys: list[Ed25519PublicKey]) -> Verified:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise VerificationFailed([f"{path}: not a readable zip: {exc}"]) from None
    with zf:
        problems, listing = _check_files(zf)
        signer = None
        if public_keys:
            signer = _check_signature(zf, public_keys, problems)
    if problems:
        raise VerificationFailed(problems)
    return Verified(files=len(listing), keyid=signer)


def _check_files(zf: zipfile.ZipFile) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    names = [i.filename for i in zf.infolist()]
    problems += [f"{n}: appears {c} times in the zip" for n, c in Counter(names).items() if c > 1]
    try:
        doc = json.loads(zf.read(BUNDLE_JSON))
        listing = {f["path"]: f for f in doc["files"]}
    except KeyError:
        return [*problems, "bundle.json: missing"], {}
    except (ValueError, TypeError) as exc:
        return [*problems, f"bundle.json: unreadable: {exc}"], {}
    present = set(names) - {BUNDLE_JSON, SIGNATURE}
    problems += [f"{n}: not listed in bundle.json" for n in sorted(present - set(listing))]
    problems += [f"{n}: listed in bundle.json but missing" for n in sorted(set(listing) - present)]
    for name in sorted(present & set(listing)):
        size, digest = _measure(zf, name)
        if size != listing[name].get("size"):
            problems.append(f"{name}: size {size} does not match bundle.json "
                            f"({listing[name].get('size')})")
        elif digest != listing[name].get("sha256"):
            problems.append(f"{name}: sha256 does not match bundle.json")
    return problems, listing


def _measure(zf: zipfile.ZipFile, name: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as fh:
        while chunk := fh.read(FILE_BLOCK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _check_signature(zf: zipfile.ZipFile, keys: list[Ed25519PublicKey],
                     problems: list[str]) -> str | None:
    names = set(zf.namelist())
    if SIGNATURE not in names:
        problems.append("bundle.json.sig: missing, so the bundle cannot be authenticated")
        return None
    if BUNDLE_JSON not in names:
        return None  # already reported
    raw, document = zf.read(SIGNATURE), zf.read(BUNDLE_JSON)
    try:
        payload_type, payload, signatures = dsse.parse(raw)
    except ValueError as exc:
        problems.append(str(exc))
        return None
    if payload_type != dsse.PAYLOAD_TYPE:
        problems.append(f"bundle.json.sig: payloadType {payload_type!r} is not "
                        f"{dsse.PAYLOAD_TYPE!r}")
    if payload != document:
        problems.append("bundle.json.sig: signs a different bundle.json than the one in the zip")
        return None
    message = dsse.pae(payload_type, payload)
    by_id = {keyid(raw_public(k)): k for k in keys}
    for sig_keyid, signature in signatures:
        candidates = [by_id[sig_keyid]] if sig_keyid in by_id else []
        for key in candidates:
            try:
                key.verify(signature, message)
                return sig_keyid
            except InvalidSignature:
                continue
    known = ", ".join(s for s, _ in signatures) or "none"
    if not any(s in by_id for s, _ in signatures):
        problems.append(f"bundle.json.sig: signed by {known}, which is none of the given keys "
                        f"({', '.join(sorted(by_id))})")
    else:
        problems.append(f"bundle.json.sig: the signature by {known} does not verify")
    return None
