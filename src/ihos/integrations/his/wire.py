"""The HIS payment interface's transport: JSON over HTTPS, both directions signed with HMAC-SM3.

HIS vendors each have their own interface, so ihos defines a generic one; a vendor adapter (or a small
service in front of the HIS) speaks it. What goes in the bodies is ``mapping``; this module is only
the signing, the same scheme as ihos's identity and pricing protocols.

Every call is ``POST <endpoint><path>`` with a UTF-8 JSON body and the headers ``X-His-App-Id``,
``X-His-Timestamp`` (Unix seconds), ``X-His-Nonce`` (32 hex) and ``X-His-Signature`` = hex
HMAC-SM3(secret, "POST\\n<path>\\n<timestamp>\\n<nonce>\\n<hex SM3(body)>"). Every answer carries
``X-His-Timestamp`` and ``X-His-Signature`` = hex HMAC-SM3(secret, "<status>\\n<request nonce>\\n
<timestamp>\\n<hex SM3(body)>"): binding the request's nonce means an old answer cannot be replayed for
a new call. Both ends refuse a timestamp more than five minutes from their clock.
"""

from __future__ import annotations

import hmac

from ihos.security.gm import hmac_sm3, sm3

APP_ID = "X-His-App-Id"
TIMESTAMP = "X-His-Timestamp"
NONCE = "X-His-Nonce"
SIGNATURE = "X-His-Signature"
TIMESTAMP_TOLERANCE_SECONDS = 300


def request_signature(secret: str, *, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    canonical = f"POST\n{path}\n{timestamp}\n{nonce}\n{sm3(body).hex()}"
    return hmac_sm3(secret.encode(), canonical.encode()).hex()


def response_signature(secret: str, *, status: int, nonce: str, timestamp: str, body: bytes) -> str:
    canonical = f"{status}\n{nonce}\n{timestamp}\n{sm3(body).hex()}"
    return hmac_sm3(secret.encode(), canonical.encode()).hex()


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)
