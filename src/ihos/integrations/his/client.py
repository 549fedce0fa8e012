"""The real client of the HIS interface (payments; exam and lab orders): ``wire`` signing, ``mapping``
bodies, ``HisError`` out."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ihos.integrations.his import mapping, wire
from ihos.integrations.his.base import (
    ChargeWriteBack,
    ClinicBill,
    HisError,
    HisOrder,
    RefundWriteBack,
    WriteBackReceipt,
)
from ihos.kit.time import now

log = logging.getLogger(__name__)
T = TypeVar("T")

UNAVAILABLE = "医院信息系统暂时不可用，请稍后再试"
MESSAGES = {
    "invalid_request": "HIS 请求不正确",
    "unknown_bill": "医院未查询到该待缴费单",
    "unknown_order": "医院未查询到该笔收费",
    "amount_mismatch": "缴费金额与医院账单不符",
    "bill_patient_mismatch": "该账单不属于此就诊人",
    "bill_cancelled": "该账单已作废",
    "bill_already_paid": "该账单已缴费",
    "order_conflict": "订单号已用于另一笔收费",
    "refund_conflict": "退款单号已用于另一笔退费",
    "refund_exceeds_charge": "退费金额超过已收金额",
}


@dataclass(frozen=True)
class HisConfig:
    endpoint: str  # base URL; the operation paths of ``mapping.PATHS`` are appended
    app_id: str
    secret: str = field(repr=False)


class HttpHisPayments:
    def __init__(
        self, config: HisConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def write_back_charge(self, charge: ChargeWriteBack) -> WriteBackReceipt:
        answer = await self._call("charge", mapping.charge_request(charge))
        return _read(mapping.receipt_from_answer, answer)

    async def write_back_refund(self, refund: RefundWriteBack) -> WriteBackReceipt:
        answer = await self._call("refund", mapping.refund_request(refund))
        return _read(mapping.receipt_from_answer, answer)

    async def charge_status(self, order_number: str) -> WriteBackReceipt | None:
        answer = await self._call("charge_status", mapping.status_request(order_number))
        return _read(mapping.status_from_answer, answer)

    async def clinic_bills(self, patient_id_number: str) -> tuple[ClinicBill, ...]:
        answer = await self._call("clinic_bills", mapping.bills_request(patient_id_number))
        return _read(mapping.bills_from_answer, answer)

    async def orders_changed_since(self, since: datetime, *, limit: int) -> tuple[HisOrder, ...]:
        answer = await self._call("orders", mapping.orders_request(since, limit))
        return _read(mapping.orders_from_answer, answer)

    async def _call(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        url = self.config.endpoint.rstrip("/") + mapping.PATHS[operation]
        body = json.dumps(payload, ensure_ascii=False).encode()
        nonce = secrets.token_hex(16)
        timestamp = str(int(now().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            wire.APP_ID: self.config.app_id,
            wire.TIMESTAMP: timestamp,
            wire.NONCE: nonce,
            wire.SIGNATURE: wire.request_signature(
                self.config.secret, path=urlsplit(url).path, timestamp=timestamp, nonce=nonce, body=body
            ),
        }
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                response = await http.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise HisError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise HisError("unreachable", UNAVAILABLE, retryable=True) from None
        return self._answer(operation, response, nonce)

    def _answer(self, operation: str, response: httpx.Response, nonce: str) -> dict[str, Any]:
        retryable = response.status_code == 429 or response.status_code >= 500
        expected = wire.response_signature(
            self.config.secret,
            status=response.status_code,
            nonce=nonce,
            timestamp=response.headers.get(wire.TIMESTAMP, ""),
            body=response.content,
        )
        if not wire.same(expected, response.headers.get(wire.SIGNATURE)):
            log.warning("HIS %s answered %s without a valid signature", operation, response.status_code)
            if response.status_code == 200:
                raise HisError("invalid_response_signature", UNAVAILABLE, retryable=False)
            raise HisError("bad_response", UNAVAILABLE, retryable=retryable)
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise HisError("bad_response", UNAVAILABLE, retryable=True)
        if response.status_code != 200:
            code = str(answer.get("error") or "bad_response")
            log.warning("HIS %s refused: %s", operation, code)
            raise HisError(code, MESSAGES.get(code, UNAVAILABLE), retryable=retryable)
        return answer


def _read(reader: Callable[[dict[str, Any]], T], answer: dict[str, Any]) -> T:
    try:
        return reader(answer)
    except mapping.MappingError as exc:
        log.warning("HIS answer malformed: %s", exc)
        raise HisError("bad_response", UNAVAILABLE, retryable=True) from None
