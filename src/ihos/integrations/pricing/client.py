"""The real client of the hospital's intranet pricing service, speaking ``wire``.

It builds the ``Quote`` from the answer's amount fields only: anything else the intranet might send is
dropped unread and never logged, so a reason for a discount cannot cross into ihos even by mistake.
It logs nothing about the patient or the answer.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ihos.integrations.pricing import wire
from ihos.integrations.pricing.base import PricedItem, PricingError, Quote
from ihos.kit.time import now

UNAVAILABLE = "计价服务暂时不可用，请稍后再试"
MESSAGES = {
    "invalid_id_number": "身份证号码不正确",
    "invalid_request": "计价请求不正确",
}
AMOUNTS = ("total_fen", "discount_fen", "self_pay_fen", "insurance_fund_fen", "personal_account_fen")


@dataclass(frozen=True)
class PricingConfig:
    endpoint: str
    app_id: str
    secret: str = field(repr=False)


class HttpPricingService:
    def __init__(
        self, config: PricingConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def quote(
        self, *, patient_id_number: str, patient_name: str, items: tuple[PricedItem, ...], insured: bool
    ) -> Quote:
        if not items:
            raise PricingError("invalid_request", MESSAGES["invalid_request"], retryable=False)
        request_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "request_id": request_id,
                "patient": {"name": patient_name, "id_number": patient_id_number},
                "items": [
                    {
                        "code": item.code,
                        "name": item.name,
                        "quantity": item.quantity,
                        "unit_price_fen": item.unit_price_fen,
                    }
                    for item in items
                ],
                "insured": insured,
            },
            ensure_ascii=False,
        ).encode()
        nonce = secrets.token_hex(16)
        response = await self._post(body, nonce)
        answer = self._answer(response, nonce=nonce)
        return _quote(
            answer, request_id=request_id, expected_total=sum(i.quantity * i.unit_price_fen for i in items)
        )

    async def _post(self, body: bytes, nonce: str) -> httpx.Response:
        timestamp = str(int(now().timestamp()))
        signature = wire.request_signature(
            self.config.secret,
            path=urlsplit(self.config.endpoint).path or "/",
            timestamp=timestamp,
            nonce=nonce,
            body=body,
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            wire.APP_ID: self.config.app_id,
            wire.TIMESTAMP: timestamp,
            wire.NONCE: nonce,
            wire.SIGNATURE: signature,
        }
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                return await http.post(self.config.endpoint, content=body, headers=headers)
        except httpx.TimeoutException:
            raise PricingError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise PricingError("unreachable", UNAVAILABLE, retryable=True) from None

    def _answer(self, response: httpx.Response, *, nonce: str) -> dict[str, Any]:
        retryable = response.status_code == 429 or response.status_code >= 500
        expected = wire.response_signature(
            self.config.secret,
            status=response.status_code,
            nonce=nonce,
            timestamp=response.headers.get(wire.TIMESTAMP, ""),
            body=response.content,
        )
        if not wire.same(expected, response.headers.get(wire.SIGNATURE)):
            if response.status_code == 200:
                raise PricingError("invalid_response_signature", UNAVAILABLE, retryable=False)
            raise PricingError("bad_response", UNAVAILABLE, retryable=retryable)
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PricingError("bad_response", UNAVAILABLE, retryable=True)
        if response.status_code != 200:
            code = str(answer.get("error") or "bad_response")
            raise PricingError(code, MESSAGES.get(code, UNAVAILABLE), retryable=retryable)
        return answer


def _quote(answer: dict[str, Any], *, request_id: str, expected_total: int) -> Quote:
    amounts = {name: answer.get(name) for name in AMOUNTS}
    quote_id, is_insured = answer.get("quote_id"), answer.get("is_insured")
    well_formed = (
        answer.get("request_id") == request_id
        and isinstance(quote_id, str)
        and isinstance(is_insured, bool)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in amounts.values())
    )
    if not well_formed:
        raise PricingError("bad_response", UNAVAILABLE, retryable=True)
    quote = Quote(
        total_fen=amounts["total_fen"],  # type: ignore[arg-type]
        discount_fen=amounts["discount_fen"],  # type: ignore[arg-type]
        self_pay_fen=amounts["self_pay_fen"],  # type: ignore[arg-type]
        insurance_fund_fen=amounts["insurance_fund_fen"],  # type: ignore[arg-type]
        personal_account_fen=amounts["personal_account_fen"],  # type: ignore[arg-type]
        is_insured=bool(is_insured),
        quote_id=str(quote_id),
    )
    parts = quote.discount_fen + quote.insurance_fund_fen + quote.personal_account_fen + quote.self_pay_fen
    if quote.total_fen != expected_total or parts != quote.total_fen:
        # The amounts must be the bill's: a quote that does not add up is not charged.
        raise PricingError("bad_response", UNAVAILABLE, retryable=False)
    return quote
