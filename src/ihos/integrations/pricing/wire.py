"""The intranet pricing service's wire format: JSON over HTTPS, both directions signed with HMAC-SM3.

The hospital's intranet has no standard protocol, so ihos defines one (the same signing scheme as the
identity and HIS protocols); the intranet side, or a small adapter in front of it, speaks it.
Documented in docs/operator/payments-insurance-his.md.

Request ``POST <endpoint>``, body::

    {"request_id", "patient": {"name", "id_number"},
     "items": [{"code", "name", "quantity", "unit_price_fen"}], "insured": true|false}

headers ``X-Pricing-App-Id``, ``X-Pricing-Timestamp`` (Unix seconds), ``X-Pricing-Nonce`` (32 hex),
``X-Pricing-Signature`` = hex HMAC-SM3(secret, "POST\\n<path>\\n<timestamp>\\n<nonce>\\n<hex SM3(body)>").

Response: JSON; ``X-Pricing-Timestamp`` and ``X-Pricing-Signature`` = hex HMAC-SM3(secret,
"<status>\\n<request nonce>\\n<timestamp>\\n<hex SM3(body)>"). 200::

    {"request_id", "quote_id", "total_fen", "discount_fen", "self_pay_fen",
     "insurance_fund_fen", "personal_account_fen", "is_insured"}

with ``total = discount + insurance_fund + personal_account + self_pay``; nothing else, and never why
there is a discount (SY-01). Errors: ``{"error", "message"}`` with 400 (``invalid_request``,
``invalid_id_number``), 401 (``invalid_signature``, ``unknown_app``, ``stale_timestamp``), 503
(``unavailable``).
"""

from __future__ import annotations

import hmac

from ihos.security.gm import hmac_sm3, sm3

APP_ID = "X-Pricing-App-Id"
TIMESTAMP = "X-Pricing-Timestamp"
NONCE = "X-Pricing-Nonce"
SIGNATURE = "X-Pricing-Signature"
TIMESTAMP_TOLERANCE_SECONDS = 300
# The only fields of an answer: ihos reads these and nothing else.
QUOTE_FIELDS = (
    "request_id",
    "quote_id",
    "total_fen",
    "discount_fen",
    "self_pay_fen",
    "insurance_fund_fen",
    "personal_account_fen",
    "is_insured",
)


def request_signature(secret: str, *, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    canonical = f"POST\n{path}\n{timestamp}\n{nonce}\n{sm3(body).hex()}"
    return hmac_sm3(secret.encode(), canonical.encode()).hex()


def response_signature(secret: str, *, status: int, nonce: str, timestamp: str, body: bytes) -> str:
    canonical = f"{status}\n{nonce}\n{timestamp}\n{sm3(body).hex()}"
    return hmac_sm3(secret.encode(), canonical.encode()).hex()


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)
