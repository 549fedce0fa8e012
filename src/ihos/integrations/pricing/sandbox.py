"""The sandbox intranet pricing service (院内身份与计价沙箱): it decides discounts and answers amounts only.

It speaks ``wire`` to the real client through an in-process transport (app id, timestamp and HMAC-SM3
checked both ways). Inside, and only inside, it knows why a patient pays less: patients aged
``senior_age`` or more get ``senior_discounts``; the service members and families on its own registry
(``intranet.json``) get ``service_member_discounts``; where both apply, the larger discount of each line
wins. For an insured patient it estimates the insurance split with the sandbox insurance platform's
rules (the split actually charged comes from the platform at payment, 6202).

The answer carries the total, the discount and who pays what: never the reason. The sandbox keeps no
record and logs nothing, so the reason exists nowhere outside this module.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import httpx

from ihos.integrations.payment.insurance import rules
from ihos.integrations.pricing import wire
from ihos.integrations.pricing.client import PricingConfig
from ihos.integrations.pricing.settings import PricingSandboxSettings
from ihos.kit.idcard import InvalidIdNumber, normalise, parse_id_number
from ihos.kit.time import local_now, local_today, now

FailureMode = Literal["none", "unavailable", "timeout"]

SANDBOX_ENDPOINT = "https://pricing.sandbox.ihos.invalid/v1/quotes"
SANDBOX_APP_ID = "ihos-sandbox"
SANDBOX_SECRET = "ihos-sandbox-pricing-secret"
MAX_ITEMS = 200


@lru_cache
def _intranet() -> dict[str, Any]:
    text = resources.files("ihos.integrations.pricing").joinpath("intranet.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@lru_cache
def _service_members() -> frozenset[str]:
    return frozenset(entry["id_number"] for entry in _intranet()["service_members"])


def item_kind(code: str) -> str:
    """registration, consultation, examination, laboratory, treatment, drug, material or other."""
    for rule in sorted(_intranet()["item_kinds"], key=lambda r: -len(r["prefix"])):
        if code.startswith(rule["prefix"]):
            return str(rule["kind"])
    return "other"


def sandbox_config() -> PricingConfig:
    return PricingConfig(endpoint=SANDBOX_ENDPOINT, app_id=SANDBOX_APP_ID, secret=SANDBOX_SECRET)


class PricingSandboxControl:
    """Switches the sandbox's failure mode at run time; when set, it wins over the setting."""

    def __init__(self) -> None:
        self.failure_mode: FailureMode | None = None

    @contextmanager
    def failing(self, mode: FailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous

    def reset(self) -> None:
        self.failure_mode = None


control = PricingSandboxControl()


class _Refusal(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        self.status, self.error, self.message = status, error, message


class PricingSandbox:
    def __init__(self, *, settings: PricingSandboxSettings, config: PricingConfig | None = None) -> None:
        self.settings = settings
        self.config = config or sandbox_config()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        nonce = request.headers.get(wire.NONCE, "")
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        try:
            if mode == "unavailable":
                raise _Refusal(503, "unavailable", "service unavailable")
            self._authenticate(request)
            answer = self._price(_question(request.content))
        except _Refusal as refusal:
            return self._reply(refusal.status, {"error": refusal.error, "message": refusal.message}, nonce)
        return self._reply(200, answer, nonce)

    def _authenticate(self, request: httpx.Request) -> None:
        headers = request.headers
        if headers.get(wire.APP_ID) != self.config.app_id:
            raise _Refusal(401, "unknown_app", "unknown app id")
        timestamp = headers.get(wire.TIMESTAMP, "")
        if (
            not timestamp.isdigit()
            or abs(now().timestamp() - int(timestamp)) > wire.TIMESTAMP_TOLERANCE_SECONDS
        ):
            raise _Refusal(401, "stale_timestamp", "timestamp missing or out of range")
        expected = wire.request_signature(
            self.config.secret,
            path=request.url.path,
            timestamp=timestamp,
            nonce=headers.get(wire.NONCE, ""),
            body=request.content,
        )
        if not wire.same(expected, headers.get(wire.SIGNATURE)):
            raise _Refusal(401, "invalid_signature", "signature does not match")

    def _price(self, question: dict[str, Any]) -> dict[str, Any]:
        id_number: str = question["id_number"]
        age = parse_id_number(id_number, today=local_today()).age_on(local_today())
        is_senior = age >= self.settings.senior_age
        is_service_member = id_number in _service_members()
        amounts, discounts = [], []
        for item in question["items"]:
            amount = item["quantity"] * item["unit_price_fen"]
            kind = item_kind(item["code"])
            percent = max(
                self.settings.senior_discounts.get(kind, 0) if is_senior else 0,
                self.settings.service_member_discounts.get(kind, 0) if is_service_member else 0,
            )
            amounts.append(amount)
            discounts.append((amount * min(percent, 100) + 50) // 100)
        total, discount = sum(amounts), sum(discounts)
        fund = account = 0
        insured = rules.insured_people().get(id_number) if question["insured"] else None
        if insured is not None:
            lines = [
                rules.ChargeLine(amount - off, rules.classify(item["code"]))
                for amount, off, item in zip(amounts, discounts, question["items"], strict=True)
            ]
            split = rules.settle(insured, lines, usage=rules.Usage(), use_account=True)
            fund, account = split.fund_pay_sumamt, split.acct_pay
        return {
            "request_id": question["request_id"],
            "quote_id": f"Q{local_now():%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}",
            "total_fen": total,
            "discount_fen": discount,
            "self_pay_fen": total - discount - fund - account,
            "insurance_fund_fen": fund,
            "personal_account_fen": account,
            "is_insured": insured is not None,
        }

    def _reply(self, status: int, body: dict[str, Any], nonce: str) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False).encode()
        timestamp = str(int(now().timestamp()))
        signature = wire.response_signature(
            self.config.secret, status=status, nonce=nonce, timestamp=timestamp, body=content
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            wire.TIMESTAMP: timestamp,
            wire.SIGNATURE: signature,
        }
        return httpx.Response(status, content=content, headers=headers)


def _question(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Refusal(400, "invalid_request", "body is not a JSON object")
    patient, items, request_id = body.get("patient"), body.get("items"), body.get("request_id")
    if (
        not isinstance(request_id, str)
        or not isinstance(patient, dict)
        or not isinstance(body.get("insured"), bool)
    ):
        raise _Refusal(400, "invalid_request", "request_id, patient and insured are required")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise _Refusal(400, "invalid_request", f"items: 1 to {MAX_ITEMS}")
    for item in items:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("code"), str)
            and all(
                isinstance(item.get(name), int) and not isinstance(item.get(name), bool) and item[name] >= 0
                for name in ("quantity", "unit_price_fen")
            )
        ):
            raise _Refusal(400, "invalid_request", "each item needs code, quantity and unit_price_fen")
    id_number = patient.get("id_number")
    if not isinstance(id_number, str):
        raise _Refusal(400, "invalid_request", "patient.id_number is required")
    try:
        parsed = parse_id_number(normalise(id_number), today=local_today())
    except InvalidIdNumber:
        raise _Refusal(400, "invalid_id_number", "not a valid resident ID number") from None
    return {"request_id": request_id, "id_number": parsed.value, "items": items, "insured": body["insured"]}
