"""The real client of the medical-insurance mobile payment centre (医保移动支付中心): one signed and
encrypted envelope (``envelope``) per call, refusals mapped to ``ChannelError`` in one table."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from ihos.integrations.payment.base import ChannelError
from ihos.integrations.payment.insurance import envelope
from ihos.integrations.payment.insurance.envelope import EnvelopeError, Party
from ihos.kit.time import now

log = logging.getLogger(__name__)

UNAVAILABLE = "医保移动支付暂时不可用，请稍后再试"

# The platform's refusal codes ihos knows → (ihos code, message for the patient, retryable). Codes not
# listed pass through as ``insurance_<code>`` with the platform's own message.
REFUSALS: dict[int, tuple[str, str, bool]] = {
    1001: ("invalid_signature", "医保移动支付验签失败", False),
    1002: ("unknown_app", "医保移动支付渠道未开通", False),
    1003: ("stale_timestamp", UNAVAILABLE, True),
    1004: ("undecryptable", "医保移动支付报文解密失败", False),
    2001: ("invalid_request", "医保支付请求不正确", False),
    3001: ("not_insured", "未查询到有效参保信息，请使用自费支付", False),
    3002: ("name_mismatch", "参保人姓名与证件号码不符", False),
    3003: ("order_not_found", "医保订单不存在", False),
    3004: ("order_state", "医保订单当前状态不允许此操作", False),
    3005: ("amount_mismatch", "费用明细与总金额不符", False),
    3006: ("refund_refused", "医保退费未被受理", False),
    3007: ("order_expired", "医保订单已过期，请重新下单", False),
    3008: ("authorisation_invalid", "医保电子凭证授权已失效，请重新授权后再支付", False),
    3009: ("authorisation_required", "请先在医保电子凭证中授权后再支付", False),
    9999: ("busy", UNAVAILABLE, True),
}


@dataclass(frozen=True)
class InsuranceConfig:
    endpoint: str  # the centre's base URL, without a trailing slash
    party: Party  # appId, appSecret, the hospital's SM2 key, the centre's SM2 public key
    org_code: str  # 定点医药机构编码
    org_name: str
    statement_path: str = ""


def plain(value: Any) -> Any:
    """Decoded interface data as plain JSON values (numbers parsed as Decimal back to text)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


class InsuranceClient:
    def __init__(
        self, config: InsuranceConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def call(
        self, interface: str, data: Mapping[str, Any], *, path: str | None = None
    ) -> dict[str, Any]:
        """Send ``data`` to interface ``interface`` (6201…) and return the answer's decrypted data, or
        raise ``ChannelError``."""
        sealed = envelope.seal(self.config.party, data, timestamp=envelope.timestamp_of(now()))
        url = self.config.endpoint.rstrip("/") + (path or envelope.PATHS[interface])
        body = json.dumps(sealed, ensure_ascii=False).encode("utf-8")
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                response = await http.post(
                    url, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
                )
        except httpx.TimeoutException:
            raise ChannelError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise ChannelError("unreachable", UNAVAILABLE, retryable=True) from None
        return self._answer(interface, response)

    def _answer(self, interface: str, response: httpx.Response) -> dict[str, Any]:
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "code" not in answer:
            log.warning("insurance %s: HTTP %s without an interface answer", interface, response.status_code)
            failure = "unavailable" if response.status_code >= 500 else "bad_response"
            raise ChannelError(failure, UNAVAILABLE, retryable=True)
        code = _code(answer.get("code"))
        if code != 0:
            raise self._refusal(interface, code, answer)
        if answer.get("appId") != self.config.party.app_id:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        try:
            data = envelope.open_envelope(self.config.party, answer)
        except EnvelopeError as exc:
            log.warning("insurance %s: answer refused: %s", interface, exc.reason)
            raise ChannelError("invalid_response_signature", UNAVAILABLE, retryable=False) from None
        if data is None:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        return data

    def _refusal(self, interface: str, code: int | None, answer: Mapping[str, Any]) -> ChannelError:
        platform_message = str(answer.get("message") or "")
        try:
            envelope.open_envelope(self.config.party, answer)
            trusted = True
        except EnvelopeError:
            trusted = False
        ihos_code, message, retryable = REFUSALS.get(
            code if code is not None else -1, (f"insurance_{code}", platform_message or UNAVAILABLE, False)
        )
        log.warning(
            "insurance %s refused: %s %s (%s)",
            interface,
            code,
            ihos_code,
            "signed" if trusted else "unsigned",
        )
        # An unsigned refusal may come from anything between us and the centre: only believe that the
        # call did not go through, and let the caller ask again.
        return ChannelError(ihos_code, message, retryable=retryable or not trusted)


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
