"""The identity service's wire format: JSON over HTTPS, both directions signed with HMAC-SM3.

There is no public protocol for real-name checks (each provider has its own), so ihos defines one; a
provider adapter (or a small proxy in front of the provider) speaks it. Documented in
docs/operator/integrations.md.

Request ``POST <endpoint>``, body ``{"request_id", "name", "id_number"}`` (UTF-8 JSON), headers
``X-Idv-App-Id``, ``X-Idv-Timestamp`` (Unix seconds), ``X-Idv-Nonce`` (32 hex) and
``X-Idv-Signature`` = hex HMAC-SM3(secret, "POST\\n<path>\\n<timestamp>\\n<nonce>\\n<hex SM3(body)>").

Response: any status, JSON body; ``X-Idv-Timestamp`` and ``X-Idv-Signature`` = hex HMAC-SM3(secret,
"<status>\\n<request nonce>\\n<timestamp>\\n<hex SM3(body)>"); binding the request's nonce means an old
answer cannot be replayed for a new question. 200: ``{"request_id", "result": "matched" | "mismatched"
| "not_found", "reference"}``; otherwise ``{"error", "message"}`` with 400 (``invalid_request``,
``invalid_id_number``), 401 (``invalid_signature``, ``unknown_app``, ``stale_timestamp``), 429
(``rate_limited``), 503 (``unavailable``).
"""

from __future__ import annotations

import hmac

from ihos.security.gm import hmac_sm3, sm3

APP_ID = "X-Idv-App-Id"
TIMESTAMP = "X-Idv-Timestamp"
NONCE = "X-Idv-Nonce"
SIGNATURE = "X-Idv-Signature"
# Both ends refuse a timestamp further than this from their clock.
TIMESTAMP_TOLERANCE_SECONDS = 300


def request_signature(secret: str, *, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    canonical = f"POST\n{path}\n{timestamp}\n{nonce}\n{sm3(body).hex()}"
    return hmac_sm3(secret.encode(), canonical.encode()).hex()


def response_signature(secret: str, *, status: int, nonce: str, timestamp: str, body: bytes) -> str:
    canonical = f"{status}\n{nonce}\n{timestamp}\n{sm3(body).hex()}"
    return hmac_sm3(secret.encode(), canonical.encode()).hex()


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)
