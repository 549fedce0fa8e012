"""The WeChat Pay sandbox (微信支付沙箱): a fake WeChat Pay API v3 that the real ``wechatpayv3``
client talks to in-process, and the patient's side of paying.

Like WeChat Pay it checks every request's ``Authorization`` (WECHATPAY2-SHA256-RSA2048, merchant
number, certificate serial, timestamp, SHA256withRSA with the merchant public key), answers in
WeChat's shapes and error codes, and signs every answer with its platform key (public-key mode), so
the SDK's answer verification runs as in production. Its ledger lives in ``sandbox_wechat_pay_*``.

``simulate_payment`` plays the patient paying in WeChat: the order turns SUCCESS and a signed,
AES-256-GCM encrypted ``TRANSACTION.SUCCESS`` notification goes to the prepay's notify URL through
the courier. Refunds stay PROCESSING for the configured delay, then end as configured, with a
``REFUND.*`` notification. ``control`` makes it fail, time out, delay, duplicate, hold and reorder
notifications, pay another amount than asked, or end refunds otherwise.

Notifications are signed for the moment they are due, since WeChat signs each attempt as it sends
it. The courier resends the same bytes, so a resend more than five minutes after that moment is
refused as stale, where WeChat's would carry a fresh signature.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal, cast
from urllib.parse import unquote

import httpx
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment import courier
from ihos.integrations.payment.wechat import wire
from ihos.integrations.payment.wechat.channel import MerchantConfig, PlatformKey
from ihos.integrations.payment.wechat.settings import FailureMode, RefundOutcome, WeChatPaySandboxSettings
from ihos.integrations.wechat.sandbox import SANDBOX_APP_ID, openid_for
from ihos.kit.ids import digits
from ihos.kit.time import now
from ihos.models.sandbox_wechat_pay import (
    SandboxWeChatPayKey,
    SandboxWeChatPayRefund,
    SandboxWeChatPayTransaction,
)

Operation = Literal["prepay", "query", "close", "refund", "query_refund", "trade_bill", "download_bill"]

# The sandbox's own merchant. The hosts end in .invalid: without the in-process transport a request
# fails instead of reaching anyone.
SANDBOX_GATEWAY = "https://api.mch.weixin.sandbox.ihos.invalid"
SANDBOX_H5_CASHIER = "https://wx.tenpay.sandbox.ihos.invalid/cgi-bin/mmpayweb-bin/checkmweb"
SANDBOX_MCHID = "1900000109"
SANDBOX_APPID = SANDBOX_APP_ID  # the WeChat sign-in sandbox's, so its openids pay here
SANDBOX_CERTIFICATE_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
SANDBOX_APIV3_KEY = "ihosSandboxWeChatPayApiV3Key0001"
PLATFORM_KEY_NAME = "platform"

# WeChat Pay refuses a request whose Authorization timestamp is further than this from its clock.
REQUEST_TOLERANCE_SECONDS = 300
BILL_TOKEN_TTL = timedelta(seconds=30)
PAID = ("SUCCESS", "REFUND")
TRADE_TYPES = {"jsapi": "JSAPI", "h5": "MWEB", "native": "NATIVE"}
TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "订单发生过退款",
}
REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}
USER_RECEIVED_ACCOUNT = "支付用户零钱"
BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
    "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)

_ORDER_NUMBER = re.compile(r"^[0-9A-Za-z_\-*]{6,32}$")
_REFUND_NUMBER = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
_AUTHORIZATION_FIELD = re.compile(r'(\w+)="([^"]*)"')
_FAILURE_CODES = {"system_error": "SYSTEM_ERROR", "frequency_limited": "FREQUENCY_LIMITED"}


class SandboxRefused(Exception):
    """``simulate_payment`` cannot pay this order (unknown, already paid, closed, expired)."""


@lru_cache
def generated_key(purpose: str) -> rsa.RSAPrivateKey:
    """A 2048-bit key per purpose ("merchant", "platform") for the life of the process."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@lru_cache(maxsize=8)
def _parsed_private_key(pem: str) -> rsa.RSAPrivateKey:
    return wire.load_private_key(pem)


def platform_key_id(key: rsa.RSAPublicKey) -> str:
    """``PUB_KEY_ID_`` and 28 digits, stable per key, like WeChat's."""
    number = int.from_bytes(hashlib.sha256(wire.public_key_pem(key).encode()).digest()[:12], "big")
    return f"PUB_KEY_ID_{number % 10**28:028d}"


def sandbox_merchant(
    *,
    mchid: str = "",
    appid: str = "",
    private_key: rsa.RSAPrivateKey | None = None,
    certificate_serial: str = "",
    apiv3_key: str = "",
    timeout: float = 10.0,
) -> MerchantConfig:
    """The merchant as the sandbox knows it: the given values, else the sandbox's own."""
    return MerchantConfig(
        mchid=mchid or SANDBOX_MCHID,
        appid=appid or SANDBOX_APPID,
        private_key=private_key or generated_key("merchant"),
        certificate_serial=certificate_serial or SANDBOX_CERTIFICATE_SERIAL,
        apiv3_key=wire.check_apiv3_key(apiv3_key or SANDBOX_APIV3_KEY),
        timeout=timeout,
    )


# ---------------------------------------------------------------- control


@dataclass(frozen=True)
class PlannedFailure:
    kind: str  # a WeChat error code, "timeout", or "timeout_after_processing"
    operation: Operation | None


@dataclass(frozen=True)
class HeldNotification:
    url: str
    body: bytes


class WeChatPaySandboxControl:
    """Run-time switches of the sandbox, for tests and the demo console; each wins over its setting.
    Process-wide, like the other sandboxes' ``control``; ``reset()`` puts everything back."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.failure_mode: FailureMode | None = None
        self.planned: list[PlannedFailure] = []
        self.notification_delay: timedelta | None = None
        self.notification_copies: int | None = None
        self.holding = False
        self.held: list[HeldNotification] = []
        self.paid_amount_fen: int | None = None
        self.refund_delay: timedelta | None = None
        self.refund_outcome: RefundOutcome | None = None

    # -- calls

    def fail_next(
        self, code: str = "SYSTEM_ERROR", *, operation: Operation | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls (of ``operation``, or any) answer WeChat's error ``code``, e.g.
        SYSTEM_ERROR, FREQUENCY_LIMITED, NOT_ENOUGH, PARAM_ERROR."""
        self.planned.extend(PlannedFailure(code, operation) for _ in range(times))

    def time_out_next(
        self, *, operation: Operation | None = None, after_processing: bool = False, times: int = 1
    ) -> None:
        """The next calls time out: before WeChat saw them, or ``after_processing`` (the order or
        refund exists, the answer is lost)."""
        kind = "timeout_after_processing" if after_processing else "timeout"
        self.planned.extend(PlannedFailure(kind, operation) for _ in range(times))

    @contextmanager
    def failing(self, mode: FailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous

    def take_planned(self, operation: Operation) -> PlannedFailure | None:
        for index, planned in enumerate(self.planned):
            if planned.operation in (None, operation):
                return self.planned.pop(index)
        return None

    # -- notifications

    @contextmanager
    def delaying(self, delay: timedelta) -> Iterator[None]:
        """Notifications made meanwhile are sent ``delay`` after their event."""
        previous, self.notification_delay = self.notification_delay, delay
        try:
            yield
        finally:
            self.notification_delay = previous

    @contextmanager
    def duplicating(self, copies: int) -> Iterator[None]:
        """Notifications made meanwhile are sent ``copies`` times, each signed afresh (new nonce),
        as WeChat's resends are: same notification id, different signature."""
        if copies < 1:
            raise ValueError("copies must be at least 1")
        previous, self.notification_copies = self.notification_copies, copies
        try:
            yield
        finally:
            self.notification_copies = previous

    @contextmanager
    def holding_notifications(self) -> Iterator[None]:
        """Notifications made meanwhile are kept back until ``WeChatPaySandbox.release_notifications``
        sends them, by default newest first (reordered)."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    # -- money

    @contextmanager
    def paying(self, amount_fen: int) -> Iterator[None]:
        """Payments made meanwhile are for ``amount_fen`` whatever the order asked (to test a
        notification whose amount differs from the order's)."""
        previous, self.paid_amount_fen = self.paid_amount_fen, amount_fen
        try:
            yield
        finally:
            self.paid_amount_fen = previous

    @contextmanager
    def refunding(
        self, *, delay: timedelta | None = None, outcome: RefundOutcome | None = None
    ) -> Iterator[None]:
        """Refunds accepted meanwhile stay PROCESSING for ``delay``, then end as ``outcome``."""
        previous = self.refund_delay, self.refund_outcome
        self.refund_delay, self.refund_outcome = delay, outcome
        try:
            yield
        finally:
            self.refund_delay, self.refund_outcome = previous


control = WeChatPaySandboxControl()


# ---------------------------------------------------------------- requests → the sandbox


class RequestsBridge(BaseAdapter):
    """A ``requests`` transport that hands each request, from the SDK's worker thread, to the
    sandbox on the event loop, and waits for the answer."""

    def __init__(
        self,
        handle: Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__()
        self._handle = handle
        self._loop = loop

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("the WeChat Pay SDK must run in a worker thread (asyncio.to_thread)")
        body = request.body or b""
        if not isinstance(body, bytes | str):
            raise TypeError("the sandbox takes whole request bodies, not streams")
        outgoing = httpx.Request(
            request.method or "GET",
            request.url or "",
            headers={
                key: value if isinstance(value, str) else value.decode()
                for key, value in request.headers.items()
            },
            content=body.encode() if isinstance(body, str) else body,
        )
        try:
            answer = asyncio.run_coroutine_threadsafe(self._handle(outgoing), self._loop).result()
        except httpx.TimeoutException as exc:
            raise requests.exceptions.ReadTimeout(str(exc), request=request) from None
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.reason_phrase
        response.headers = CaseInsensitiveDict(dict(answer.headers.items()))
        response._content = answer.content
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- the fake WeChat Pay


class _Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class SandboxPayment:
    """What ``simulate_payment`` did: the order is paid in the sandbox's ledger."""

    order_number: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime


class WeChatPaySandbox:
    """The fake WeChat Pay for one unit of work. ``gateway``, ``platform_key`` and ``adapter`` make
    it the ``Counterpart`` of a ``WeChatPayChannel``; ``transport()`` serves httpx clients."""

    gateway = SANDBOX_GATEWAY

    def __init__(
        self, session: AsyncSession, *, settings: WeChatPaySandboxSettings, merchant: MerchantConfig
    ) -> None:
        self.session = session
        self.settings = settings
        self.merchant = merchant
        self.merchant_public_key = merchant.private_key.public_key()
        self._platform: tuple[str, rsa.RSAPrivateKey] | None = None

    # -- identity

    async def platform_key(self) -> PlatformKey:
        key_id, private_key = await self._platform_private_key()
        return PlatformKey(key_id=key_id, public_key=private_key.public_key())

    async def _platform_private_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """The one platform key of the deployment, from the database; the first process to need it
        stores the key it generated (the unique name decides between two at once)."""
        if self._platform is None:
            row = await self._stored_platform_key()
            if row is None:
                key = generated_key("platform")
                try:
                    async with self.session.begin_nested():
                        self.session.add(
                            SandboxWeChatPayKey(
                                name=PLATFORM_KEY_NAME,
                                key_id=platform_key_id(key.public_key()),
                                private_key=wire.private_key_pem(key),
                            )
                        )
                except IntegrityError:
                    pass
                row = await self._stored_platform_key()
                if row is None:  # pragma: no cover - inserted or found just above
                    raise RuntimeError("the sandbox platform key could not be stored")
            self._platform = (row.key_id, _parsed_private_key(row.private_key))
        return self._platform

    async def _stored_platform_key(self) -> SandboxWeChatPayKey | None:
        return cast(
            "SandboxWeChatPayKey | None",
            await self.session.scalar(
                select(SandboxWeChatPayKey).where(SandboxWeChatPayKey.name == PLATFORM_KEY_NAME)
            ),
        )

    def adapter(self, loop: asyncio.AbstractEventLoop) -> BaseAdapter:
        # Looked up per request, so that a test may wrap ``handle`` after the client exists.
        return RequestsBridge(lambda request: self.handle(request), loop)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- HTTP

    async def handle(self, request: httpx.Request) -> httpx.Response:
        route = self._route(request)
        operation = route[0] if route else None
        planned = control.take_planned(operation) if operation else None
        mode = control.failure_mode or self.settings.failure_mode
        if (planned and planned.kind == "timeout") or mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        try:
            self._authenticate(request)
            if planned and planned.kind not in ("timeout", "timeout_after_processing"):
                raise _Refusal(planned.kind, wire.ERROR_MESSAGES.get(planned.kind, planned.kind))
            if mode in _FAILURE_CODES:
                code = _FAILURE_CODES[mode]
                raise _Refusal(code, wire.ERROR_MESSAGES[code])
            if route is None:
                raise _Refusal("NOT_FOUND", "请求的资源不存在")
            _, serve, argument = route
            response = await serve(request, argument)
        except _Refusal as refusal:
            return await self._reply(
                wire.error_status(refusal.code), {"code": refusal.code, "message": refusal.message}
            )
        if planned and planned.kind == "timeout_after_processing":
            raise httpx.ReadTimeout("sandbox: simulated timeout after processing", request=request)
        return response

    def _route(
        self, request: httpx.Request
    ) -> tuple[Operation, Callable[[httpx.Request, str], Awaitable[httpx.Response]], str] | None:
        path, method = request.url.path, request.method
        if method == "POST" and (match := re.fullmatch(r"/v3/pay/transactions/(jsapi|h5|native)", path)):
            return "prepay", self._prepay, match[1]
        if method == "GET" and (match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", path)):
            return "query", self._query, match[1]
        if method == "POST" and (
            match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path)
        ):
            return "close", self._close, match[1]
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return "refund", self._refund, ""
        if method == "GET" and (match := re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path)):
            return "query_refund", self._query_refund, unquote(match[1])
        if method == "GET" and path == "/v3/bill/tradebill":
            return "trade_bill", self._trade_bill, ""
        if method == "GET" and path == "/v3/billdownload/file":
            return "download_bill", self._download_bill, ""
        return None

    def _authenticate(self, request: httpx.Request) -> None:
        scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
        if scheme != wire.SIGNATURE_TYPE:
            raise _Refusal(
                "SIGN_ERROR", "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
            )
        fields = dict(_AUTHORIZATION_FIELD.findall(rest))
        if fields.get("mchid") != self.merchant.mchid:
            raise _Refusal("SIGN_ERROR", "商户号与签名不匹配")
        if fields.get("serial_no") != self.merchant.certificate_serial:
            raise _Refusal("SIGN_ERROR", "商户证书序列号有误。请使用签名私钥匹配的证书序列号")
        timestamp, nonce = fields.get("timestamp", ""), fields.get("nonce_str", "")
        # The SDK stamps requests with time.time(), not ihos's clock; WeChat compares with its own
        # wall clock. So does the sandbox, which keeps tests that move ihos's clock working.
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > REQUEST_TOLERANCE_SECONDS:
            raise _Refusal("SIGN_ERROR", "签名中的时间戳已过期或格式错误")
        message = wire.signed_message(request.method, request.url.raw_path, timestamp, nonce, request.content)
        if not nonce or not wire.verify(self.merchant_public_key, message, fields.get("signature", "")):
            raise _Refusal("SIGN_ERROR", "签名错误，请检查后再试")
        serial = request.headers.get("Wechatpay-Serial")
        if serial is not None and self._platform is not None and serial != self._platform[0]:
            raise _Refusal("INVALID_REQUEST", "Wechatpay-Serial 不是有效的微信支付公钥ID")

    async def _reply(
        self, status: int, payload: dict[str, Any] | None, *, content_type: str = "application/json"
    ) -> httpx.Response:
        """An answer signed as WeChat Pay signs them: timestamp, nonce, body."""
        body = (
            b""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        )
        headers = await self._signed_headers(body, at=now())
        headers["Request-ID"] = str(uuid.uuid4())
        if payload is not None:
            headers["Content-Type"] = content_type
        return httpx.Response(status, headers=headers, content=body)

    async def _signed_headers(self, body: bytes, *, at: datetime) -> dict[str, str]:
        key_id, private_key = await self._platform_private_key()
        timestamp, nonce = str(int(at.timestamp())), wire.random_nonce()
        return {
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Serial": key_id,
            "Wechatpay-Signature-Type": wire.SIGNATURE_TYPE,
            "Wechatpay-Signature": wire.sign(private_key, wire.signed_message(timestamp, nonce, body)),
        }

    # -- orders

    async def _prepay(self, request: httpx.Request, kind: str) -> httpx.Response:
        data = _json_body(request)
        if data.get("mchid") != self.merchant.mchid:
            raise _Refusal("PARAM_ERROR", "mchid与请求签名的商户号不一致")
        if data.get("appid") != self.merchant.appid:
            raise _Refusal("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        description = data.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 127:
            raise _Refusal("PARAM_ERROR", "description 长度须在1到127个字符之间")
        out_trade_no = data.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not _ORDER_NUMBER.match(out_trade_no):
            raise _Refusal("PARAM_ERROR", "out_trade_no 须为6到32位的数字、大小写字母或_-*")
        notify_url = _notify_url(data.get("notify_url"), required=True)
        amount = data.get("amount") or {}
        total = amount.get("total")
        if not isinstance(total, int) or isinstance(total, bool) or total < 1:
            raise _Refusal("PARAM_ERROR", "amount.total 须为正整数（分）")
        if amount.get("currency", "CNY") != "CNY":
            raise _Refusal("PARAM_ERROR", "amount.currency 只支持CNY")
        time_expire = _optional_time(data.get("time_expire"))
        if time_expire is not None and time_expire <= now():
            raise _Refusal("INVALID_REQUEST", "time_expire 已过，请重新下单")
        openid = (data.get("payer") or {}).get("openid")
        if kind == "jsapi" and not (isinstance(openid, str) and openid):
            raise _Refusal("PARAM_ERROR", "JSAPI下单须传入payer.openid")
        scene = data.get("scene_info") or {}
        if kind == "h5" and not (scene.get("payer_client_ip") and (scene.get("h5_info") or {}).get("type")):
            raise _Refusal("PARAM_ERROR", "H5下单须传入scene_info.payer_client_ip和h5_info.type")
        digest = hashlib.sha256(json.dumps([kind, data], sort_keys=True).encode()).hexdigest()
        row = await self._transaction(out_trade_no)
        if row is None:
            row = SandboxWeChatPayTransaction(
                mchid=self.merchant.mchid,
                appid=self.merchant.appid,
                out_trade_no=out_trade_no,
                trade_type=TRADE_TYPES[kind],
                description=description,
                total_fen=total,
                currency="CNY",
                payer_openid=openid if isinstance(openid, str) else None,
                notify_url=notify_url,
                time_expire=time_expire,
                request_digest=digest,
                prepay_id=f"wx{now().astimezone(wire.WECHAT_ZONE):%d%H%M%S%f}{uuid.uuid4().hex[:20]}"[:36],
                trade_state="NOTPAY",
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(row)
            except IntegrityError:
                row = await self._transaction(out_trade_no)
                if row is None:  # pragma: no cover
                    raise
        if row.trade_state in PAID:
            raise _Refusal("ORDERPAID", "该订单已支付")
        if row.trade_state == "CLOSED":
            raise _Refusal("ORDER_CLOSED", "该订单已关闭")
        if row.request_digest != digest:
            raise _Refusal("OUT_TRADE_NO_USED", "商户订单号重复")
        if kind == "h5":
            return await self._reply(
                200, {"h5_url": f"{SANDBOX_H5_CASHIER}?prepay_id={row.prepay_id}&package={digits(10)}"}
            )
        if kind == "native":
            return await self._reply(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={row.prepay_id[-9:]}"})
        return await self._reply(200, {"prepay_id": row.prepay_id})

    async def _query(self, request: httpx.Request, out_trade_no: str) -> httpx.Response:
        if request.url.params.get("mchid") != self.merchant.mchid:
            raise _Refusal("PARAM_ERROR", "mchid与请求签名的商户号不一致")
        row = await self._transaction(out_trade_no)
        if row is None:
            raise _Refusal("ORDER_NOT_EXIST", "订单不存在")
        return await self._reply(200, transaction_view(row))

    async def _close(self, request: httpx.Request, out_trade_no: str) -> httpx.Response:
        if _json_body(request).get("mchid") != self.merchant.mchid:
            raise _Refusal("PARAM_ERROR", "mchid与请求签名的商户号不一致")
        row = await self._transaction(out_trade_no)
        if row is None:
            raise _Refusal("ORDER_NOT_EXIST", "订单不存在")
        closed = await self.session.execute(
            update(SandboxWeChatPayTransaction)
            .where(
                SandboxWeChatPayTransaction.id == row.id, SandboxWeChatPayTransaction.trade_state == "NOTPAY"
            )
            .values(trade_state="CLOSED", updated_at=now())
        )
        await self.session.refresh(row)
        if _rowcount(closed) == 0 and row.trade_state in PAID:
            raise _Refusal("ORDERPAID", "订单已支付")
        return await self._reply(204, None)

    async def _transaction(self, out_trade_no: str) -> SandboxWeChatPayTransaction | None:
        return cast(
            "SandboxWeChatPayTransaction | None",
            await self.session.scalar(
                select(SandboxWeChatPayTransaction).where(
                    SandboxWeChatPayTransaction.mchid == self.merchant.mchid,
                    SandboxWeChatPayTransaction.out_trade_no == out_trade_no,
                )
            ),
        )

    # -- the patient pays

    async def simulate_payment(self, order_number: str, *, amount_fen: int | None = None) -> SandboxPayment:
        """The patient paid in WeChat: the order turns SUCCESS and TRANSACTION.SUCCESS is queued to
        its notify URL. ``amount_fen`` (or ``control.paying``) pays another amount than asked."""
        row = await self._transaction(order_number)
        if row is None:
            raise SandboxRefused(f"WeChat Pay sandbox has no order {order_number}")
        if row.trade_state != "NOTPAY":
            raise SandboxRefused(f"order {order_number} is {row.trade_state}, not NOTPAY")
        if row.time_expire is not None and now() > row.time_expire:
            raise SandboxRefused(f"order {order_number} expired at {row.time_expire.isoformat()}")
        paid = amount_fen if amount_fen is not None else control.paid_amount_fen
        paid = row.total_fen if paid is None else paid
        transaction_id = f"4200{digits(24)}"
        paid_at = now()
        result = await self.session.execute(
            update(SandboxWeChatPayTransaction)
            .where(
                SandboxWeChatPayTransaction.id == row.id, SandboxWeChatPayTransaction.trade_state == "NOTPAY"
            )
            .values(
                trade_state="SUCCESS",
                transaction_id=transaction_id,
                total_fen=paid,
                payer_total_fen=paid,
                payer_openid=row.payer_openid or openid_for(row.appid, f"wechat-pay-{order_number}"),
                bank_type="OTHERS",
                success_time=paid_at,
                updated_at=paid_at,
            )
        )
        if _rowcount(result) != 1:
            raise SandboxRefused(f"order {order_number} changed while being paid")
        await self.session.refresh(row)
        await self._notify(
            row.notify_url,
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            resource=transaction_view(row),
        )
        return SandboxPayment(order_number, transaction_id, paid, paid_at)

    # -- refunds

    async def _refund(self, request: httpx.Request, _: str) -> httpx.Response:
        data = _json_body(request)
        out_refund_no = data.get("out_refund_no")
        if not isinstance(out_refund_no, str) or not _REFUND_NUMBER.match(out_refund_no):
            raise _Refusal("PARAM_ERROR", "out_refund_no 须为1到64位的数字、大小写字母或_-|*@")
        amount = data.get("amount") or {}
        refund, total = amount.get("refund"), amount.get("total")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (refund, total)):
            raise _Refusal("PARAM_ERROR", "amount.refund 和 amount.total 须为正整数（分）")
        refund_fen, total_fen = cast(int, refund), cast(int, total)
        reason = data.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
            raise _Refusal("PARAM_ERROR", "reason 不能超过80个字符")
        notify_url = _notify_url(data.get("notify_url"), required=False)
        existing = await self._refund_row(out_refund_no)
        if existing is not None:
            same_order = (
                data.get("transaction_id") == existing.transaction_id
                or data.get("out_trade_no") == existing.out_trade_no
            )
            if not same_order or existing.refund_fen != refund_fen:
                raise _Refusal("INVALID_REQUEST", "商户退款单号已使用，本次请求与原退款单的订单或金额不一致")
            return await self._reply(200, refund_view(await self._settled(existing)))
        row = await self._refunded_transaction(data)
        if total_fen != row.total_fen:
            raise _Refusal("INVALID_REQUEST", "订单金额与原订单金额不一致")
        # Reserve first, in one statement: two refunds at once cannot both pass the limit.
        reserved = await self.session.execute(
            update(SandboxWeChatPayTransaction)
            .where(
                SandboxWeChatPayTransaction.id == row.id,
                SandboxWeChatPayTransaction.trade_state.in_(PAID),
                SandboxWeChatPayTransaction.refunded_fen + refund_fen
                <= SandboxWeChatPayTransaction.payer_total_fen,
            )
            .values(
                refunded_fen=SandboxWeChatPayTransaction.refunded_fen + refund_fen,
                trade_state="REFUND",
                updated_at=now(),
            )
        )
        if _rowcount(reserved) != 1:
            raise _Refusal("INVALID_REQUEST", "申请退款金额超过订单可退金额")
        await self.session.refresh(row)
        accepted_at = now()
        delay = control.refund_delay
        if delay is None:
            delay = timedelta(seconds=self.settings.refund_delay_seconds)
        outcome = control.refund_outcome or self.settings.refund_outcome
        refund_row = SandboxWeChatPayRefund(
            transaction_row_id=row.id,
            mchid=self.merchant.mchid,
            out_refund_no=out_refund_no,
            refund_id=f"50{digits(27)}",
            out_trade_no=row.out_trade_no,
            transaction_id=row.transaction_id or "",
            refund_fen=refund_fen,
            total_fen=row.total_fen,
            reason=reason,
            notify_url=notify_url,
            status="PROCESSING",
            outcome=outcome,
            accepted_at=accepted_at,
            completes_at=accepted_at + delay,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(refund_row)
        except IntegrityError:
            # The same refund number at the same moment: the other request's refund stands.
            raise _Refusal("FREQUENCY_LIMITED", "同一退款单号的请求正在处理，请稍后重试") from None
        answer = refund_view(refund_row)
        if notify_url is not None:
            final = refund_view(refund_row, status=outcome)
            resource = {
                key: final[key]
                for key in (
                    "transaction_id",
                    "out_trade_no",
                    "refund_id",
                    "out_refund_no",
                    "user_received_account",
                )
            }
            resource |= {
                "mchid": refund_row.mchid,
                "refund_status": outcome,
                "amount": {k: final["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")},
            }
            if outcome == "SUCCESS":
                resource["success_time"] = wire.format_time(refund_row.completes_at)
            await self._notify(
                notify_url,
                event_type=f"REFUND.{outcome}",
                summary=REFUND_SUMMARY[outcome],
                original_type="refund",
                resource=resource,
                after=delay,
            )
        return await self._reply(200, answer)

    async def _refunded_transaction(self, data: dict[str, Any]) -> SandboxWeChatPayTransaction:
        by_id = data.get("transaction_id")
        condition = (
            SandboxWeChatPayTransaction.transaction_id == by_id
            if isinstance(by_id, str) and by_id
            else SandboxWeChatPayTransaction.out_trade_no == str(data.get("out_trade_no") or "")
        )
        row = await self.session.scalar(
            select(SandboxWeChatPayTransaction).where(
                SandboxWeChatPayTransaction.mchid == self.merchant.mchid, condition
            )
        )
        if row is None:
            raise _Refusal("RESOURCE_NOT_EXISTS", "订单不存在")
        if row.trade_state == "CLOSED":
            raise _Refusal("INVALID_REQUEST", "订单已关闭，不能退款")
        if row.trade_state not in PAID:
            raise _Refusal("INVALID_REQUEST", "订单未支付，不能退款")
        return row

    async def _query_refund(self, request: httpx.Request, out_refund_no: str) -> httpx.Response:
        row = await self._refund_row(out_refund_no)
        if row is None:
            raise _Refusal("RESOURCE_NOT_EXISTS", "退款单不存在")
        return await self._reply(200, refund_view(await self._settled(row)))

    async def _refund_row(self, out_refund_no: str) -> SandboxWeChatPayRefund | None:
        return cast(
            "SandboxWeChatPayRefund | None",
            await self.session.scalar(
                select(SandboxWeChatPayRefund).where(
                    SandboxWeChatPayRefund.mchid == self.merchant.mchid,
                    SandboxWeChatPayRefund.out_refund_no == out_refund_no,
                )
            ),
        )

    async def _settled(self, row: SandboxWeChatPayRefund) -> SandboxWeChatPayRefund:
        """The refund with its outcome written once its time has come (by whoever looks first)."""
        if row.status != "PROCESSING" or row.completes_at > now():
            return row
        result = await self.session.execute(
            update(SandboxWeChatPayRefund)
            .where(SandboxWeChatPayRefund.id == row.id, SandboxWeChatPayRefund.status == "PROCESSING")
            .values(
                status=row.outcome,
                success_time=row.completes_at if row.outcome == "SUCCESS" else None,
                updated_at=now(),
            )
        )
        if _rowcount(result) == 1 and row.outcome == "CLOSED":
            # A closed refund gives its amount back to what may still be refunded.
            await self.session.execute(
                update(SandboxWeChatPayTransaction)
                .where(SandboxWeChatPayTransaction.id == row.transaction_row_id)
                .values(
                    refunded_fen=SandboxWeChatPayTransaction.refunded_fen - row.refund_fen, updated_at=now()
                )
            )
        await self.session.refresh(row)
        return row

    # -- notifications

    async def _notify(
        self,
        url: str,
        *,
        event_type: str,
        summary: str,
        original_type: str,
        resource: dict[str, Any],
        after: timedelta = timedelta(),
    ) -> None:
        nonce = wire.random_nonce(12)
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        envelope = {
            "id": str(uuid.uuid4()),
            "create_time": wire.format_time(now() + after),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": wire.AEAD_ALGORITHM,
                "ciphertext": wire.encrypt_resource(
                    self.merchant.apiv3_key, nonce=nonce, plaintext=plaintext, associated_data=original_type
                ),
                "associated_data": original_type,
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        if control.holding:
            control.held.append(HeldNotification(url, body))
            return
        delay = control.notification_delay
        if delay is None:
            delay = timedelta(seconds=self.settings.notification_delay_seconds)
        delay += after
        copies = control.notification_copies or self.settings.notification_copies
        for _ in range(copies):
            await self._send(url, body, delay=delay)

    async def _send(self, url: str, body: bytes, *, delay: timedelta) -> None:
        headers = await self._signed_headers(body, at=now() + max(delay, timedelta()))
        headers["Content-Type"] = "application/json"
        await courier.send_notification(self.session, courier.Delivery(url, headers, body), delay=delay)

    async def release_notifications(self, *, reverse: bool = True) -> int:
        """Send the notifications ``control.holding_notifications`` kept back, newest first unless
        ``reverse`` is False; all due now, in that order. Returns how many."""
        held, control.held = control.held, []
        if reverse:
            held.reverse()
        for place, item in enumerate(held):
            # Backdated a millisecond per place: all due at once, delivered in this order.
            await self._send(item.url, item.body, delay=-timedelta(milliseconds=len(held) - place))
        return len(held)

    # -- trade bill

    async def _trade_bill(self, request: httpx.Request, _: str) -> httpx.Response:
        params = request.url.params
        day = _bill_day(params.get("bill_date", ""))
        bill_type = params.get("bill_type", "ALL")
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise _Refusal("PARAM_ERROR", "bill_type 只能是ALL、SUCCESS或REFUND")
        if params.get("tar_type", "GZIP") != "GZIP":
            raise _Refusal("PARAM_ERROR", "tar_type 只能是GZIP")
        bill = await self.trade_bill(day, bill_type=bill_type)
        token = self._bill_token(day, bill_type)
        return await self._reply(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(bill, usedforsecurity=False).hexdigest(),
                "download_url": f"{SANDBOX_GATEWAY}/v3/billdownload/file?token={token}",
            },
        )

    async def _download_bill(self, request: httpx.Request, _: str) -> httpx.Response:
        day, bill_type = self._read_bill_token(request.url.params.get("token", ""))
        bill = await self.trade_bill(day, bill_type=bill_type)
        # The file itself is not signed (the SDK does not verify it); its SHA1 came signed.
        return httpx.Response(
            200,
            headers={"Content-Type": "application/octet-stream", "Request-ID": str(uuid.uuid4())},
            content=gzip.compress(bill, mtime=0),
        )

    async def trade_bill(self, day: date, *, bill_type: str = "ALL") -> bytes:
        """The trade bill (交易账单) of ``day`` (Beijing): payments that succeeded that day and
        refunds accepted that day, refund status as of the end of the day."""
        today = now().astimezone(wire.WECHAT_ZONE).date()
        if day > today:
            raise _Refusal("PARAM_ERROR", "账单日期不能晚于今天")
        if day == today:
            raise _Refusal("STATEMENT_CREATING", "账单正在生成中，请于次日10点后再下载")
        start = datetime.combine(day, datetime.min.time(), tzinfo=wire.WECHAT_ZONE).astimezone(UTC)
        end = start + timedelta(days=1)
        lines: list[tuple[datetime, list[str]]] = []
        rate = Decimal(self.settings.fee_rate_percent)
        if bill_type in ("ALL", "SUCCESS"):
            payments = await self.session.scalars(
                select(SandboxWeChatPayTransaction).where(
                    SandboxWeChatPayTransaction.mchid == self.merchant.mchid,
                    SandboxWeChatPayTransaction.success_time >= start,
                    SandboxWeChatPayTransaction.success_time < end,
                )
            )
            lines += [(cast(datetime, p.success_time), _payment_line(p, rate)) for p in payments]
        if bill_type in ("ALL", "REFUND"):
            refunds = await self.session.execute(
                select(SandboxWeChatPayRefund, SandboxWeChatPayTransaction)
                .join(
                    SandboxWeChatPayTransaction,
                    SandboxWeChatPayTransaction.id == SandboxWeChatPayRefund.transaction_row_id,
                )
                .where(
                    SandboxWeChatPayRefund.mchid == self.merchant.mchid,
                    SandboxWeChatPayRefund.accepted_at >= start,
                    SandboxWeChatPayRefund.accepted_at < end,
                )
            )
            lines += [(r.accepted_at, _refund_line(r, t, rate, as_of=end)) for r, t in refunds.tuples()]
        if not lines:
            raise _Refusal("NO_STATEMENT_EXIST", "账单文件不存在，当日没有交易")
        lines.sort(key=lambda line: line[0])
        return _bill_text([fields for _, fields in lines])

    def _bill_token(self, day: date, bill_type: str) -> str:
        claims = (
            f"{self.merchant.mchid}|{day.isoformat()}|{bill_type}|{int((now() + BILL_TOKEN_TTL).timestamp())}"
        )
        mac = hmac.new(self.merchant.apiv3_key.encode(), claims.encode(), hashlib.sha256).hexdigest()[:32]
        return base64.urlsafe_b64encode(f"{claims}|{mac}".encode()).decode().rstrip("=")

    def _read_bill_token(self, token: str) -> tuple[date, str]:
        try:
            claims, _, mac = (
                base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().rpartition("|")
            )
            mchid, day, bill_type, expires = claims.split("|")
            expected = hmac.new(
                self.merchant.apiv3_key.encode(), claims.encode(), hashlib.sha256
            ).hexdigest()[:32]
            valid = hmac.compare_digest(mac, expected) and mchid == self.merchant.mchid
            if valid and now().timestamp() <= int(expires):
                return date.fromisoformat(day), bill_type
        except ValueError:
            pass
        raise _Refusal("INVALID_REQUEST", "账单下载地址无效或已过期（有效期30秒）")


# ---------------------------------------------------------------- views


def transaction_view(row: SandboxWeChatPayTransaction) -> dict[str, Any]:
    """The order as GET /v3/pay/transactions/out-trade-no/{out_trade_no} answers it."""
    view: dict[str, Any] = {
        "appid": row.appid,
        "mchid": row.mchid,
        "out_trade_no": row.out_trade_no,
        "trade_type": row.trade_type,
        "trade_state": row.trade_state,
        "trade_state_desc": TRADE_STATE_DESC.get(row.trade_state, row.trade_state),
        "attach": "",
        "amount": {"total": row.total_fen, "currency": row.currency, "payer_currency": row.currency},
        "promotion_detail": [],
    }
    if row.trade_state in PAID and row.success_time is not None:
        view |= {
            "transaction_id": row.transaction_id,
            "bank_type": row.bank_type,
            "success_time": wire.format_time(row.success_time),
            "payer": {"openid": row.payer_openid},
        }
        view["amount"]["payer_total"] = row.payer_total_fen
    return view


def refund_view(row: SandboxWeChatPayRefund, *, status: str | None = None) -> dict[str, Any]:
    """The refund as POST /v3/refund/domestic/refunds and its query answer it."""
    status = status or row.status
    view: dict[str, Any] = {
        "refund_id": row.refund_id,
        "out_refund_no": row.out_refund_no,
        "transaction_id": row.transaction_id,
        "out_trade_no": row.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": USER_RECEIVED_ACCOUNT,
        "create_time": wire.format_time(row.accepted_at),
        "status": status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": row.total_fen,
            "refund": row.refund_fen,
            "from": [],
            "payer_total": row.total_fen,
            "payer_refund": row.refund_fen,
            "settlement_total": row.total_fen,
            "settlement_refund": row.refund_fen,
            "discount_refund": 0,
            "currency": "CNY",
            "refund_fee": 0,
        },
        "promotion_detail": [],
    }
    if status == "SUCCESS":
        view["success_time"] = wire.format_time(row.success_time or row.completes_at)
    return view


def _payment_line(row: SandboxWeChatPayTransaction, rate: Decimal) -> list[str]:
    total = row.total_fen
    return [
        _bill_time(cast(datetime, row.success_time)), row.appid, row.mchid, "0", "", row.transaction_id or "",
        row.out_trade_no, row.payer_openid or "", row.trade_type, "SUCCESS", row.bank_type or "OTHERS", "CNY",
        _yuan(total), "0.00", "0", "0", "0.00", "0.00", "", "", row.description, "",
        _fee_text(_fee(total, rate)), f"{rate:.2f}%", _yuan(total), "0.00", "",
    ]  # fmt: skip


def _refund_line(
    refund: SandboxWeChatPayRefund, row: SandboxWeChatPayTransaction, rate: Decimal, *, as_of: datetime
) -> list[str]:
    status = refund.outcome if refund.completes_at <= as_of else "PROCESSING"
    return [
        _bill_time(refund.accepted_at), row.appid, row.mchid, "0", "", row.transaction_id or "",
        row.out_trade_no, row.payer_openid or "", row.trade_type, "REFUND", row.bank_type or "OTHERS", "CNY",
        "0.00", "0.00", refund.refund_id, refund.out_refund_no, _yuan(refund.refund_fen), "0.00", "ORIGINAL",
        status, row.description, "", _fee_text(-_fee(refund.refund_fen, rate)), f"{rate:.2f}%", "0.00",
        _yuan(refund.refund_fen), "",
    ]  # fmt: skip


def _bill_text(lines: list[list[str]]) -> bytes:
    payments = [line for line in lines if line[9] == "SUCCESS"]
    refunds = [line for line in lines if line[9] == "REFUND"]

    def total(rows: list[list[str]], column: int) -> int:
        return sum(_fen_of(row[column]) for row in rows)

    fees = sum(Decimal(row[22]) for row in lines)
    summary = [
        str(len(lines)),
        _yuan(total(payments, 12)),
        _yuan(total(refunds, 16)),
        "0.00",
        f"{fees:.5f}",
        _yuan(total(payments, 24)),
        _yuan(total(refunds, 25)),
    ]
    rows = [BILL_HEADER, *(",".join(f"`{field}" for field in line) for line in lines)]
    rows += [BILL_SUMMARY_HEADER, ",".join(f"`{field}" for field in summary)]
    return ("\r\n".join(rows) + "\r\n").encode()


def _bill_time(value: datetime) -> str:
    return value.astimezone(wire.WECHAT_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _fen_of(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def _fee(fen: int, rate_percent: Decimal) -> int:
    """The fee in fen, rounded half up, as WeChat charges it per order."""
    return int((Decimal(fen) * rate_percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _fee_text(fen: int) -> str:
    # Fees are printed to five places, whole fen all the same: `7.79000`.
    return f"{Decimal(fen) / 100:.5f}"


# ---------------------------------------------------------------- request helpers


def _json_body(request: httpx.Request) -> dict[str, Any]:
    try:
        data = json.loads(request.content or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _Refusal("PARAM_ERROR", "请求体不是合法的JSON对象")
    return data


def _notify_url(value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    # WeChat wants an address reachable from outside, without query parameters (https in live).
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^?#\s]{1,248}", value):
        raise _Refusal("PARAM_ERROR", "notify_url 须为不带参数的 http(s) 地址")
    return value


def _optional_time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return wire.parse_time(str(value))
    except ValueError:
        raise _Refusal("PARAM_ERROR", "时间格式须为 yyyy-MM-DDTHH:mm:ss+TIMEZONE") from None


def _bill_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Refusal("PARAM_ERROR", "bill_date 格式须为 yyyy-MM-DD") from None


def _rowcount(result: Any) -> int:
    return cast("CursorResult[Any]", result).rowcount or 0
