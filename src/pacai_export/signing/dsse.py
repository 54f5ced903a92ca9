"""DSSE envelopes (github.com/secure-systems-lab/dsse): what ``bundle.json.sig`` holds.

The signature covers the pre-authentication encoding (PAE) of the payload type and the
payload — ``bundle.json``'s exact bytes — so neither can be swapped without detection.
"""

from __future__ import annotations

import base64
import json
from typing import Any

SIGNATURE = "bundle.json.sig"  # the envelope's name in a bundle (§8)

PAYLOAD_TYPE = "application/vnd.pacai.bundle+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """``DSSEv1 <len(type)> <type> <len(body)> <body>``, lengths as ASCII decimals."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes, keyid: str, signature: bytes) -> bytes:
    doc = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
           "signatures": [{"keyid": keyid, "sig": base64.b64encode(signature).decode()}]}
    return (json.dumps(doc, indent=2) + "\n").encode()


def parse(raw: bytes) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """(payloadType, payload, [(keyid, signature)]); ``ValueError`` when malformed."""
    try:
        doc: Any = json.loads(raw)
        payload = base64.b64decode(doc["payload"], validate=True)
        signatures = [(str(s.get("keyid", "")), base64.b64decode(s["sig"], validate=True))
                      for s in doc["signatures"]]
        return str(doc["payloadType"]), payload, signatures
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"bundle.json.sig is not a DSSE envelope: {exc}") from None
