"""The Alipay payment channel (支付宝支付) on ``python-alipay-sdk`` (RSA2).

The SDK builds and signs every request and verifies every answer; ihos adds what it lacks:

- its clock: the SDK stamps ``timestamp`` with the server's naive local time, ihos with Beijing time
  from ``ihos.kit.time`` (Alipay reads it as Beijing time whatever the server's zone);
- its transport: the SDK fetches ``gateway?signed-query`` with ``urlopen``; ihos overrides
  ``verified_sync_response`` to fetch with httpx, through the sandbox gateway when one is given;
- an exact response locator: the SDK finds the signed node by counting braces, which a brace inside a
  string value defeats; ihos cuts it out with the JSON scanner of the Alipay sign-in package;
- ``error_response`` answers, which the SDK raises unverified: ihos verifies their signature too.

The SDK is synchronous, so every call runs in a worker thread. A sandbox gateway is an async handler
that uses the caller's database session, so the thread hands each request back to the event loop
(``_LoopBridge``), which is free while it waits for the thread.

Amounts cross the wire in yuan (``"12.30"``) and are fen everywhere else, converted with Decimal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.alipay import signing
from ihos.integrations.payment.alipay.replay import remember_notification
from ihos.integrations.payment.base import (
    Acknowledgement,
    ChannelError,
    ChannelName,
    NotificationRejected,
    NotificationReplayed,
    PaymentResult,
    PaymentState,
    Prepay,
    PrepayRequest,
    RefundRequest,
    RefundResult,
    VerifiedNotification,
)
from ihos.kit.money import InvalidAmount, fen_to_yuan, yuan_to_fen
from ihos.kit.time import now

log = logging.getLogger(__name__)

CHANNEL: ChannelName = "alipay"
# Alipay reads and writes times as Beijing time whatever the hospital's zone.
ALIPAY_ZONE = ZoneInfo("Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
SUCCESS = "10000"
ERROR_NODE = "error_response"

CREATE = "alipay.trade.create"
WAP_PAY = "alipay.trade.wap.pay"
PRECREATE = "alipay.trade.precreate"
QUERY = "alipay.trade.query"
CLOSE = "alipay.trade.close"
REFUND = "alipay.trade.refund"
REFUND_QUERY = "alipay.trade.fastpay.refund.query"
BILL_URL_QUERY = "alipay.data.dataservice.bill.downloadurl.query"

UNAVAILABLE = "支付宝服务暂时不可用，请稍后再试"
FAILED = "支付宝支付请求失败"
# Alipay sub_codes → the words shown to people. Others use Alipay's own sub_msg.
MESSAGES = {
    "ACQ.SYSTEM_ERROR": "支付宝系统繁忙，请稍后再试",
    "ACQ.INVALID_PARAMETER": "支付请求参数无效",
    "ACQ.TRADE_NOT_EXIST": "支付宝交易不存在",
    "ACQ.TRADE_HAS_SUCCESS": "该订单已支付",
    "ACQ.TRADE_HAS_CLOSE": "该订单已关闭，请重新下单",
    "ACQ.TRADE_STATUS_ERROR": "支付宝交易状态不允许此操作",
    "ACQ.CONTEXT_INCONSISTENT": "订单信息与首次下单时不一致",
    "ACQ.TOTAL_FEE_EXCEED": "订单金额超过支付宝限额",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": "退款金额超过可退金额",
    "ACQ.DISCORDANT_REPEAT_REQUEST": "退款单号已用于另一笔金额的退款",
    "ACQ.REASON_TRADE_REFUND_FEE_ERR": "退款金额无效",
    "ACQ.TRADE_HAS_FINISHED": "交易已完结，超过可退款期限",
    "ACQ.SELLER_BALANCE_NOT_ENOUGH": "商户支付宝账户余额不足，暂时无法退款",
    "isp.bill_not_exist": "支付宝对账单尚未生成",
    "isv.invalid-signature": "支付宝验签失败，请检查应用密钥配置",
    "isv.invalid-app-id": "支付宝应用ID无效",
}
# Refusals that may pass when the same request is sent again later.
RETRYABLE = {"ACQ.SYSTEM_ERROR", "ACQ.SELLER_BALANCE_NOT_ENOUGH", "isp.unknow-error"}

# Alipay trade_status → ihos payment state (TRADE_CLOSED after payment means fully refunded).
TRADE_STATES: dict[str, PaymentState] = {
    "WAIT_BUYER_PAY": "pending",
    "TRADE_SUCCESS": "paid",
    "TRADE_FINISHED": "paid",
    "TRADE_CLOSED": "closed",
}


@dataclass(frozen=True)
class AlipayPayConfig:
    app_id: str
    app_private_key: rsa.RSAPrivateKey = field(repr=False)
    alipay_public_key: rsa.RSAPublicKey = field(repr=False)
    gateway: str = "https://openapi.alipay.com/gateway.do"
    timeout: float = 10.0
    h5_return_url: str = ""
    h5_quit_url: str = ""
    notification_max_age: timedelta = timedelta(hours=26)
    notification_clock_skew: timedelta = timedelta(minutes=5)


class GatewayRefusal(Exception):
    """Alipay answered ``error_response`` (common-parameter errors: signature, app id, method)."""

    def __init__(self, node: dict[str, Any]) -> None:
        self.node = node
        super().__init__(str(node.get("sub_code") or node.get("code")))


class BadResponse(Exception):
    """The gateway answered something that is not an Alipay response."""


def beijing_text(moment: datetime) -> str:
    return moment.astimezone(ALIPAY_ZONE).strftime(TIMESTAMP_FORMAT)


def parse_beijing(text: str) -> datetime:
    """``2024-01-02 10:00:05`` (or with milliseconds, as ``gmt_refund`` has) in Beijing time → aware UTC."""
    for pattern in (TIMESTAMP_FORMAT, TIMESTAMP_FORMAT + ".%f"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=ALIPAY_ZONE)
        except ValueError:
            continue
    raise ValueError(f"not an Alipay time: {text!r}")


def parse_fen(text: object) -> int:
    """Alipay's yuan text → fen; refuses anything but a finite, non-negative amount of at most 2 decimals."""
    if not isinstance(text, str) or not text or text.strip() != text:
        raise InvalidAmount(f"not an amount: {text!r}")
    fen = yuan_to_fen(text)
    if fen < 0:
        raise InvalidAmount(f"negative amount: {text!r}")
    return fen


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


Fetch = Callable[[str], str]


class _Sdk(AliPay):
    """The SDK with ihos's clock, transport and exact response locator (see the module docstring)."""

    def __init__(self, config: AlipayPayConfig, keys: tuple[str, str], fetch: Fetch | None) -> None:
        super().__init__(
            appid=config.app_id,
            app_private_key_string=keys[0],
            alipay_public_key_string=keys[1],
            sign_type="RSA2",
            config=AliPayConfig(timeout=config.timeout),
        )
        self._gateway = config.gateway
        self._fetch = fetch

    def build_body(self, method: str, biz_content: Any = None, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().build_body(method, biz_content, **kwargs)
        data["timestamp"] = beijing_text(now())
        return data

    def verified_sync_response(self, data: dict[str, Any], response_type: str) -> dict[str, Any]:
        if self._fetch is None:  # pragma: no cover - the channel always passes one for gateway calls
            raise RuntimeError("no transport")
        raw = self._fetch(self._gateway + "?" + self.sign_data(data))
        try:
            members = signing.top_level_texts(raw)
        except ValueError:
            raise BadResponse("not a JSON object") from None
        if response_type not in members and ERROR_NODE in members:
            text = members[ERROR_NODE]
            signature = json.loads(members["sign"]) if "sign" in members else None
            # An error is believed unsigned (Alipay signs most): a forged one costs one failed call.
            if signature is not None and not self._verify_text(text, signature):
                raise AliPayValidationError
            node = json.loads(text)
            raise GatewayRefusal(node if isinstance(node, dict) else {})
        if response_type not in members:
            raise BadResponse(f"no {response_type}")
        result: dict[str, Any] = self._verify_and_return_sync_response(raw, response_type)
        return result

    def _get_string_to_be_signed(self, raw_string: str, response_type: str) -> str:
        return signing.top_level_texts(raw_string)[response_type]

    def _verify(self, raw_content: str, signature: str) -> bool:
        # The SDK lets a malformed base64 signature raise; it is simply not a valid signature.
        try:
            return bool(super()._verify(raw_content, signature))
        except (ValueError, TypeError):
            return False

    def _verify_text(self, text: str, signature: object) -> bool:
        return isinstance(signature, str) and self._verify(text, signature)

    def verify_notification(self, params: Mapping[str, str], signature: str) -> bool:
        """The SDK's ``verify``: RSA2 over the sorted ``k=v`` of every parameter but sign and sign_type."""
        try:
            return bool(self.verify(dict(params), signature))
        except (AliPayException, ValueError, TypeError):
            return False


class _LoopBridge(httpx.BaseTransport):
    """Runs an async transport (the sandbox gateway) on the event loop, for the SDK's worker thread."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        self.transport = transport
        self.loop = loop
        self.timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def forward() -> httpx.Response:
            response = await self.transport.handle_async_request(request)
            content = await response.aread()
            headers = [
                (name, value)
                for name, value in response.headers.multi_items()
                if name.lower() not in ("content-length", "content-encoding", "transfer-encoding")
            ]
            return httpx.Response(response.status_code, headers=headers, content=content)

        future = asyncio.run_coroutine_threadsafe(forward(), self.loop)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout("gateway did not answer in time", request=request) from None


class AlipayPayChannel:
    """``PaymentChannel`` for Alipay. One instance per use; ``session`` holds the replay guard's rows.

    ``transport`` (tests, the sandbox) replaces the network for gateway calls and bill downloads;
    ``on_cashier`` is told every H5 cashier URL handed out (the sandbox keeps them in its ledger).
    """

    name: ChannelName = CHANNEL

    def __init__(
        self,
        session: AsyncSession,
        config: AlipayPayConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_cashier: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.transport = transport
        self.on_cashier = on_cashier
        # The SDK takes PEM text (it parses with pycryptodomex).
        self._keys = (_pem_private(config.app_private_key), _pem_public(config.alipay_public_key))

    # ------------------------------------------------------------------ prepay

    async def create_prepay(self, request: PrepayRequest) -> Prepay:
        if request.amount_fen <= 0:
            raise ChannelError("ihos.invalid_amount", "支付金额必须大于零", retryable=False)
        biz: dict[str, Any] = {
            "out_trade_no": request.order_number,
            "total_amount": fen_to_yuan(request.amount_fen),
            "subject": request.description[:256],
            "time_expire": beijing_text(request.expires_at),
        }
        if request.scene in ("mini_program", "jsapi"):
            # my.tradePay / AlipayJSBridge tradePay take the trade_no of alipay.trade.create.
            buyer = request.payer.alipay_user_id
            if not buyer:
                raise ChannelError("ihos.payer_missing", "缺少支付宝用户标识，请重新登录", retryable=False)
            biz["product_code"] = "JSAPI_PAY"
            # 2088… is a user_id; apps in Alipay's OpenID mode get an open_id instead.
            biz["buyer_id" if buyer.startswith("2088") else "buyer_open_id"] = buyer
            node = await self._call(CREATE, biz, notify_url=request.notify_url)
            trade_no = _text(node, "trade_no")
            return Prepay(channel=CHANNEL, channel_reference=trade_no, params={"tradeNO": trade_no})
        if request.scene == "h5":
            return await self._wap_pay(request, biz)
        # native: a QR code for the patient to scan (face-to-face precreate).
        node = await self._call(PRECREATE, biz, notify_url=request.notify_url)
        qr_code = _text(node, "qr_code")
        return Prepay(channel=CHANNEL, url=qr_code, params={"qr_code": qr_code})

    async def _wap_pay(self, request: PrepayRequest, biz: dict[str, Any]) -> Prepay:
        extra = {"product_code": "QUICK_WAP_WAY", "time_expire": biz["time_expire"]}
        if self.config.h5_quit_url:
            extra["quit_url"] = self.config.h5_quit_url
        sdk = _Sdk(self.config, self._keys, None)
        query = sdk.api_alipay_trade_wap_pay(
            biz["subject"],
            biz["out_trade_no"],
            biz["total_amount"],
            return_url=self.config.h5_return_url or None,
            notify_url=request.notify_url,
            **extra,
        )
        url = f"{self.config.gateway}?{query}"
        if self.on_cashier is not None:
            await self.on_cashier(url)
        return Prepay(channel=CHANNEL, url=url)

    # ------------------------------------------------------------------ notifications

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        params = _form(body)
        signature = params.pop("sign", "")
        if not signature:
            raise NotificationRejected("unsigned notification")
        if params.get("sign_type") != "RSA2":
            raise NotificationRejected(f"unexpected sign_type {params.get('sign_type')!r}")
        if not _Sdk(self.config, self._keys, None).verify_notification(params, signature):
            raise NotificationRejected("signature does not verify with Alipay's public key")
        if params.get("app_id") != self.config.app_id:
            raise NotificationRejected(f"notification for another app: {params.get('app_id')!r}")
        notified_at = self._check_notify_time(params.get("notify_time", ""))
        notify_id = params.get("notify_id", "")
        if not notify_id:
            raise NotificationRejected("no notify_id")
        raw: dict[str, object] = dict(params)
        if params.get("out_biz_no"):
            notification = VerifiedNotification(
                notification_id=notify_id, kind="refund", refund=await self._refund_from(params, raw)
            )
        else:
            notification = VerifiedNotification(
                notification_id=notify_id, kind="payment", payment=_payment_from(params, raw)
            )
        # Last, so that only a notification fully believed takes its id.
        if not await remember_notification(
            self.session,
            channel=CHANNEL,
            notification_id=notify_id,
            notified_at=notified_at,
            keep=self.config.notification_max_age + self.config.notification_clock_skew,
        ):
            raise NotificationReplayed(f"replayed notification (notify_id {notify_id} already accepted)")
        return notification

    def _check_notify_time(self, text: str) -> datetime:
        try:
            notified_at = parse_beijing(text)
        except ValueError:
            raise NotificationRejected(f"bad notify_time {text!r}") from None
        moment = now()
        if notified_at < moment - self.config.notification_max_age:
            raise NotificationRejected(f"stale notification (notify_time {text})")
        if notified_at > moment + self.config.notification_clock_skew:
            raise NotificationRejected(f"notify_time in the future ({text})")
        return notified_at

    async def _refund_from(self, params: Mapping[str, str], raw: dict[str, object]) -> RefundResult:
        """A refund notification names the refund (out_biz_no) but carries only the trade's total refunded
        (refund_fee); this refund's own amount comes from Alipay's refund query."""
        refund_number = params["out_biz_no"]
        order_number = params.get("out_trade_no", "")
        if not order_number:
            raise NotificationRejected("refund notification without out_trade_no")
        try:
            refunded_at = parse_beijing(params["gmt_refund"]) if params.get("gmt_refund") else None
            parse_fen(params.get("refund_fee"))
        except (ValueError, InvalidAmount) as exc:
            raise NotificationRejected(f"malformed refund notification: {exc}") from None
        confirmed = await self.query_refund(refund_number, order_number=order_number)
        if confirmed.state != "succeeded":
            # Alipay notifies after the refund; until its query agrees, let it resend.
            raise ChannelError("ihos.refund_not_confirmed", UNAVAILABLE, retryable=True)
        return RefundResult(
            refund_number=refund_number,
            state="succeeded",
            amount_fen=confirmed.amount_fen,
            succeeded_at=refunded_at or confirmed.succeeded_at,
            raw=raw,
        )

    def acknowledge(self, *, accepted: bool) -> Acknowledgement:
        # Alipay stops resending only on the exact body "success".
        return Acknowledgement(
            status=200, content_type="text/plain; charset=utf-8", body=b"success" if accepted else b"fail"
        )

    # ------------------------------------------------------------------ queries and changes

    async def query_payment(self, order_number: str) -> PaymentResult:
        try:
            node = await self._call(QUERY, {"out_trade_no": order_number})
        except ChannelError as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                # An H5 cashier link not yet opened: Alipay knows nothing of it.
                return PaymentResult(order_number=order_number, state="pending", raw={"sub_code": exc.code})
            raise
        status = str(node.get("trade_status", ""))
        state = TRADE_STATES.get(status)
        if state is None:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        is_paid = bool(node.get("send_pay_date"))
        if status == "TRADE_CLOSED" and is_paid:
            state = "refunded"
        try:
            amount = parse_fen(node.get("total_amount")) if state in ("paid", "refunded") else None
            paid_at = parse_beijing(str(node["send_pay_date"])) if is_paid else None
        except (ValueError, InvalidAmount):
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None
        return PaymentResult(
            order_number=order_number,
            state=state,
            amount_fen=amount,
            transaction_id=_optional_text(node, "trade_no"),
            paid_at=paid_at,
            raw=node,
        )

    async def close(self, order_number: str) -> None:
        try:
            await self._call(CLOSE, {"out_trade_no": order_number})
        except ChannelError as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":
                # Nothing at Alipay (an unopened cashier link); time_expire stops it being paid later.
                return
            if exc.code != "ACQ.TRADE_STATUS_ERROR":
                raise
            # Already closed (fine) or paid (the caller must know).
            result = await self.query_payment(order_number)
            if result.state != "closed":
                raise ChannelError(
                    "ACQ.TRADE_STATUS_ERROR", "订单已支付，无法关闭", retryable=False
                ) from None

    async def refund(self, request: RefundRequest) -> RefundResult:
        if request.amount_fen <= 0:
            raise ChannelError("ihos.invalid_amount", "退款金额必须大于零", retryable=False)
        biz = {
            "out_trade_no": request.order_number,
            "refund_amount": fen_to_yuan(request.amount_fen),
            # The same out_request_no on every retry: Alipay refunds it once.
            "out_request_no": request.refund_number,
            "refund_reason": request.reason[:256],
        }
        if request.transaction_id:
            biz["trade_no"] = request.transaction_id
        node = await self._call(REFUND, biz)
        if node.get("fund_change") != "Y":
            # "N": this request moved no money (a retry of a refund already made, or not yet done);
            # Alipay's rule is to confirm with the refund query.
            return await self.query_refund(request.refund_number, order_number=request.order_number)
        try:
            refunded_at = parse_beijing(str(node["gmt_refund_pay"])) if node.get("gmt_refund_pay") else now()
        except ValueError:
            refunded_at = now()
        return RefundResult(
            refund_number=request.refund_number,
            state="succeeded",
            amount_fen=request.amount_fen,
            succeeded_at=refunded_at,
            raw=node,
        )

    async def query_refund(self, refund_number: str, *, order_number: str) -> RefundResult:
        biz = {
            "out_trade_no": order_number,
            "out_request_no": refund_number,
            "query_options": ["gmt_refund_pay"],
        }
        try:
            node = await self._call(REFUND_QUERY, biz)
        except ChannelError as exc:
            if exc.code != "ACQ.TRADE_NOT_EXIST":
                raise
            node = {"sub_code": exc.code}
        status = node.get("refund_status")
        if "refund_amount" not in node or status not in (None, "", "REFUND_SUCCESS"):
            # Alipay: no refund under this number means none was made; retrying it is safe.
            return RefundResult(
                refund_number=refund_number, state="failed", amount_fen=0, raw={**node, "found": False}
            )
        try:
            amount = parse_fen(node.get("refund_amount"))
            refunded_at = parse_beijing(str(node["gmt_refund_pay"])) if node.get("gmt_refund_pay") else None
        except (ValueError, InvalidAmount):
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None
        return RefundResult(
            refund_number=refund_number,
            state="succeeded",
            amount_fen=amount,
            succeeded_at=refunded_at,
            raw=node,
        )

    async def download_statement(self, day: date) -> bytes:
        """The trade bill (交易账单) of ``day``: Alipay's zip of two GBK CSV files."""
        try:
            node = await self._call(BILL_URL_QUERY, {"bill_type": "trade", "bill_date": day.isoformat()})
        except ChannelError as exc:
            if exc.code == "isp.bill_not_exist":
                # Alipay publishes a day's bill the next morning: yesterday's may come later.
                yesterday = now().astimezone(ALIPAY_ZONE).date() - timedelta(days=1)
                raise ChannelError(exc.code, exc.message, retryable=day >= yesterday) from None
            raise
        url = _text(node, "bill_download_url")
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.config.timeout) as http:
                response = await http.get(url)
        except httpx.TimeoutException:
            raise ChannelError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise ChannelError("unreachable", UNAVAILABLE, retryable=True) from None
        if response.status_code != 200 or not response.content.startswith(b"PK"):
            raise ChannelError("bad_response", "支付宝对账单下载失败", retryable=True)
        return response.content

    # ------------------------------------------------------------------ the SDK call

    async def _call(self, method: str, biz: dict[str, Any], **kwargs: str) -> dict[str, Any]:
        """One gateway call through the SDK in a worker thread; the verified response node when its
        code is 10000, otherwise ``ChannelError`` with Alipay's sub_code."""
        loop = asyncio.get_running_loop()
        bridge = _LoopBridge(self.transport, loop, self.config.timeout) if self.transport else None

        def fetch(url: str) -> str:
            with httpx.Client(transport=bridge, timeout=self.config.timeout) as http:
                response = http.get(url)
            if response.status_code != 200:
                raise BadResponse(f"HTTP {response.status_code}")
            return response.text

        def run() -> dict[str, Any]:
            result: dict[str, Any] = _Sdk(self.config, self._keys, fetch).server_api(method, biz, **kwargs)
            return result

        try:
            node = await asyncio.to_thread(run)
        except httpx.TimeoutException:
            raise ChannelError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise ChannelError("unreachable", UNAVAILABLE, retryable=True) from None
        except (BadResponse, AliPayException, ValueError, KeyError):
            # AliPayException: a success node without a signature.
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None
        except AliPayValidationError:
            log.warning("Alipay %s response signature does not verify; response discarded", method)
            raise ChannelError("invalid_response_signature", UNAVAILABLE, retryable=False) from None
        except GatewayRefusal as refusal:
            raise _refusal(method, refusal.node) from None
        if str(node.get("code")) != SUCCESS:
            raise _refusal(method, node)
        return node


def _refusal(method: str, node: Mapping[str, Any]) -> ChannelError:
    gateway_code = str(node.get("code", ""))
    sub_code = str(node.get("sub_code") or gateway_code or "unknown")
    # 20000 is Alipay's "service currently unavailable"; isp.* are Alipay's own faults.
    retryable = gateway_code == "20000" or sub_code in RETRYABLE or sub_code.startswith("isp.unknow")
    message = MESSAGES.get(sub_code) or str(node.get("sub_msg") or (UNAVAILABLE if retryable else FAILED))
    log.info("Alipay %s refused: %s %s", method, gateway_code, sub_code)
    return ChannelError(sub_code, message, retryable=retryable)


def _payment_from(params: Mapping[str, str], raw: dict[str, object]) -> PaymentResult:
    status = params.get("trade_status", "")
    state = TRADE_STATES.get(status)
    if state is None:
        raise NotificationRejected(f"unknown trade_status {status!r}")
    order_number = params.get("out_trade_no", "")
    if not order_number:
        raise NotificationRejected("no out_trade_no")
    try:
        amount = parse_fen(params.get("total_amount")) if state == "paid" else None
        paid_at = parse_beijing(params["gmt_payment"]) if params.get("gmt_payment") else None
        if state == "paid" and params.get("receipt_amount"):
            raw["receipt_amount_fen"] = parse_fen(params["receipt_amount"])
    except (ValueError, InvalidAmount) as exc:
        raise NotificationRejected(f"malformed notification: {exc}") from None
    return PaymentResult(
        order_number=order_number,
        state=state,
        amount_fen=amount,
        transaction_id=params.get("trade_no") or None,
        paid_at=paid_at,
        raw=raw,
    )


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise NotificationRejected("body is not a UTF-8 form") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise NotificationRejected("a parameter appears twice")
    return params


def _text(node: Mapping[str, Any], name: str) -> str:
    value = node.get(name)
    if not isinstance(value, str) or not value:
        raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
    return value


def _optional_text(node: Mapping[str, Any], name: str) -> str | None:
    value = node.get(name)
    return value if isinstance(value, str) and value else None
