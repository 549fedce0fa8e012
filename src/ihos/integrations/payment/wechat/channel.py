"""The WeChat Pay API v3 channel (微信支付): prepay for mini-program / JSAPI (``wx.requestPayment``
parameters), H5 (``h5_url``) and Native (``code_url``); query, close, refund, refund query, the trade
bill; and notifications, verified further than the SDK goes.

Calls go through the ``wechatpayv3`` SDK, which is synchronous (``requests``), in a worker thread.
The SDK builds and signs each request and verifies each answer with the WeChat Pay public key
(public-key mode only: ihos never downloads platform certificates). Its HTTP goes through a
``requests.Session`` of ours: that is where the sandbox plugs in.

Notifications are verified here rather than with the SDK's ``callback``: the SDK neither bounds
``Wechatpay-Timestamp`` nor remembers ``Wechatpay-Nonce``, and on an unknown serial it would fetch
certificates over the network in the middle of a request. Here: signature type, serial, SHA256withRSA
over ``timestamp\\nnonce\\nbody\\n``, timestamp within five minutes of ``now()``, AES-256-GCM
decryption with the APIv3 key, our merchant number, and the nonce not seen before (``NonceStore``).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, quote, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import BaseAdapter, HTTPAdapter
from sqlalchemy import CursorResult, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3 import __version__ as sdk_version
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType
from wechatpayv3.utils import build_authorization

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
    RefundState,
    VerifiedNotification,
)
from ihos.integrations.payment.wechat import wire
from ihos.kit.time import now
from ihos.models.sandbox_wechat_pay import WeChatPayNonce

log = logging.getLogger(__name__)

LIVE_GATEWAY = "https://api.mch.weixin.qq.com"
# A notification whose Wechatpay-Timestamp is further than this from our clock is not believed.
TIMESTAMP_TOLERANCE = timedelta(minutes=5)
# Nonces are kept a little past the moment their timestamp would be refused anyway.
NONCE_KEPT_FOR = TIMESTAMP_TOLERANCE + timedelta(minutes=1)
MAX_NONCE_LENGTH = 64
# WeChat Pay's limits on the fields ihos sends.
MAX_DESCRIPTION = 127
MAX_REFUND_REASON = 80
_ORDER_NUMBER = re.compile(r"^[0-9A-Za-z_\-*]{6,32}$")
_REFUND_NUMBER = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")

UNAVAILABLE = "微信支付暂时无法访问，请稍后再试"
BAD_RESPONSE = "微信支付的应答无法识别"

# trade_state → ours. REFUND (转入退款) is a paid order some refund was accepted for.
TRADE_STATES: dict[str, PaymentState] = {
    "SUCCESS": "paid",
    "REFUND": "refunded",
    "NOTPAY": "pending",
    "USERPAYING": "pending",
    "CLOSED": "closed",
    "REVOKED": "closed",
    "PAYERROR": "failed",
}
# Refund status → ours. ABNORMAL (退款异常: the payer's card was closed) is not final: the merchant
# redirects the same refund in the merchant platform and it ends SUCCESS. Reading it as failed
# would release the reservation while the money is on its way, so it stays processing; ``raw``
# keeps ``status`` = ABNORMAL for the staff to act on.
REFUND_STATES: dict[str, RefundState] = {
    "SUCCESS": "succeeded",
    "PROCESSING": "processing",
    "ABNORMAL": "processing",
    "CLOSED": "failed",
}
REFUND_EVENTS = {"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"}
ACCEPTED = {"code": "SUCCESS", "message": "成功"}
NOT_ACCEPTED = {"code": "FAIL", "message": "失败"}


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class MerchantConfig:
    """Who ihos is to WeChat Pay: a directly connected merchant (直连商户)."""

    mchid: str
    appid: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    certificate_serial: str
    apiv3_key: str = field(repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class PlatformKey:
    """The WeChat Pay public key (微信支付公钥) and its id (``PUB_KEY_ID_…``)."""

    key_id: str
    public_key: rsa.RSAPublicKey = field(repr=False)


class Counterpart(Protocol):
    """Who answers: WeChat Pay itself, or the sandbox. ``adapter`` is the ``requests`` transport
    for ``gateway`` (None: the network); it may call back into ``loop``."""

    @property
    def gateway(self) -> str: ...

    async def platform_key(self) -> PlatformKey: ...

    def adapter(self, loop: asyncio.AbstractEventLoop) -> BaseAdapter | None: ...


@dataclass(frozen=True)
class LiveWeChatPay:
    platform: PlatformKey
    gateway: str = LIVE_GATEWAY

    async def platform_key(self) -> PlatformKey:
        return self.platform

    def adapter(self, loop: asyncio.AbstractEventLoop) -> BaseAdapter | None:
        return None


# ---------------------------------------------------------------- nonces


class NonceStore(Protocol):
    async def remember(self, nonce: str, *, expires_at: datetime) -> bool:
        """True the first time ``nonce`` is seen (and remember it until ``expires_at``), else False.
        Must hold across processes."""
        ...


class DatabaseNonceStore:
    """Nonces in ``wechat_pay_nonces``, in the caller's transaction: a notification whose handling
    rolls back leaves its nonce free, so WeChat's next attempt is not mistaken for a replay."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(self, nonce: str, *, expires_at: datetime) -> bool:
        try:
            async with self.session.begin_nested():
                self.session.add(WeChatPayNonce(nonce=nonce, expires_at=expires_at))
        except IntegrityError:
            return False
        return True


async def purge_expired_nonces(session: AsyncSession) -> int:
    """Forget nonces whose notifications would be refused as stale anyway (for a periodic sweep)."""
    result = cast(
        "CursorResult[Any]",
        await session.execute(delete(WeChatPayNonce).where(WeChatPayNonce.expires_at < now())),
    )
    return result.rowcount or 0


# ---------------------------------------------------------------- the SDK, on our HTTP session

# The digest of ``wechatpayv3.core.Core.request`` (2.0.4) that ``_SdkCore.request`` mirrors; a test
# fails when an SDK upgrade changes it, so that the copy is reviewed rather than silently stale.
SDK_REQUEST_DIGEST = "1e587aed14550028c859e89f548cc0e55c50d57ad73df91e17efb0442fbe2285"


class _SdkCore(Core):
    """The SDK's core with its HTTP on a ``requests.Session`` of ours.

    The SDK calls module-level ``requests.get``/``post`` and offers no session or transport hook, so
    ``request`` is the SDK's own (2.0.4) with three changes: the session, the body sent being the
    exact text that was signed, and no multipart (ihos uploads nothing). Signing
    (``build_authorization``) and answer verification (``_verify_signature``) stay the SDK's.
    """

    def __init__(self, *, http: requests.Session, gateway: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http = http
        self._gate_way = gateway.rstrip("/")

    def _update_certificates(self) -> None:
        # Public-key mode only: an answer under an unknown serial fails verification instead of
        # sending the SDK to /v3/certificates from inside a payment call.
        self._certificates.clear()

    def request(
        self,
        path: str,
        method: Any = RequestType.GET,
        data: Any = None,
        skip_verify: bool = False,
        sign_data: Any = None,
        files: Any = None,
        cipher_data: bool = False,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str | bytes]:
        if files:
            raise NotImplementedError("ihos uploads nothing to WeChat Pay")
        headers = dict(headers or {})
        headers.update(
            {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"wechatpay python sdk v{sdk_version}(https://github.com/minibear2021/wechatpayv3)",
            }
        )
        if self._public_key_id:
            headers["Wechatpay-Serial"] = self._public_key_id
        signed = sign_data if sign_data else data
        body = signed if isinstance(signed, str) else json.dumps(signed) if signed else ""
        headers["Authorization"] = build_authorization(
            path, method.value, self._mchid, self._cert_serial_no, self._private_key, data=body
        )
        response = self._http.request(
            method.value,
            self._gate_way + path,
            data=body.encode() if method != RequestType.GET else None,
            headers=headers,
            timeout=self._timeout,
        )
        verified = skip_verify or not 200 <= response.status_code < 300
        if not verified and not self._verify_signature(response.headers, response.text):
            raise Exception("failed to verify the signature")  # the SDK's own words
        if "application/json" in response.headers.get("Content-Type", ""):
            return response.status_code, response.text
        return response.status_code, response.content


class _Sdk(WeChatPay):
    def __init__(
        self, config: MerchantConfig, platform: PlatformKey, *, http: requests.Session, gateway: str
    ) -> None:
        keys = {
            "mchid": config.mchid,
            "private_key": wire.private_key_pem(config.private_key),
            "cert_serial_no": config.certificate_serial,
            "apiv3_key": config.apiv3_key,
            "timeout": config.timeout,
            "public_key": wire.public_key_pem(platform.public_key),
            "public_key_id": platform.key_id,
        }
        super().__init__(wechatpay_type=WeChatPayType.JSAPI, appid=config.appid, **keys)
        self._core = _SdkCore(http=http, gateway=gateway, **keys)


@functools.cache
def _network_session() -> requests.Session:
    """One pooled session for live calls, shared by the worker threads (urllib3 pools are
    thread-safe, and WeChat Pay sets no cookies)."""
    session = requests.Session()
    session.mount("https://", HTTPAdapter(pool_maxsize=32, max_retries=0))
    return session


# ---------------------------------------------------------------- the channel


class WeChatPayChannel:
    """``PaymentChannel`` for WeChat Pay API v3. One instance serves one unit of work."""

    name: ChannelName = "wechat"

    def __init__(self, config: MerchantConfig, *, counterpart: Counterpart, nonces: NonceStore) -> None:
        self.config = config
        self.counterpart = counterpart
        self.nonces = nonces
        self._sdk: _Sdk | None = None

    # -- prepay

    async def create_prepay(self, request: PrepayRequest) -> Prepay:
        if request.insurance is not None:
            raise ChannelError("PARAM_ERROR", "微信支付渠道不办理医保支付", retryable=False)
        _check_order_number(request.order_number)
        arguments: dict[str, Any] = {
            "description": request.description[:MAX_DESCRIPTION],
            "out_trade_no": request.order_number,
            "amount": {"total": request.amount_fen, "currency": "CNY"},
            "time_expire": wire.format_time(request.expires_at),
            "notify_url": request.notify_url,
        }
        if request.scene in ("mini_program", "jsapi"):
            if not request.payer.wechat_openid:
                raise ChannelError("PARAM_ERROR", "缺少付款人的 openid", retryable=False)
            arguments.update(pay_type=WeChatPayType.JSAPI, payer={"openid": request.payer.wechat_openid})
        elif request.scene == "h5":
            if not request.payer.client_address:
                raise ChannelError("PARAM_ERROR", "缺少付款人的 IP 地址", retryable=False)
            arguments.update(
                pay_type=WeChatPayType.H5,
                scene_info={"payer_client_ip": request.payer.client_address, "h5_info": {"type": "Wap"}},
            )
        else:
            arguments.update(pay_type=WeChatPayType.NATIVE)
        answer = _json(*await self._call(lambda sdk: sdk.pay(**arguments)))
        if request.scene == "h5":
            url = _text(answer, "h5_url")
            return Prepay(channel=self.name, channel_reference=_prepay_id_of(url), url=url)
        if request.scene == "native":
            return Prepay(channel=self.name, url=_text(answer, "code_url"))
        prepay_id = _text(answer, "prepay_id")
        params = self._payment_params(await self._client(), prepay_id)
        return Prepay(channel=self.name, channel_reference=prepay_id, params=params)

    def _payment_params(self, sdk: _Sdk, prepay_id: str) -> dict[str, str]:
        """What ``wx.requestPayment`` takes, signed with the merchant key over
        ``appId\\ntimeStamp\\nnonceStr\\npackage\\n`` (the SDK's ``sign``)."""
        params = {
            "appId": self.config.appid,
            "timeStamp": str(int(now().timestamp())),
            "nonceStr": wire.random_nonce(),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        params["paySign"] = sdk.sign(
            [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        )
        return params

    # -- query and close

    async def query_payment(self, order_number: str) -> PaymentResult:
        _check_order_number(order_number)
        answer = _json(*await self._call(lambda sdk: sdk.query(out_trade_no=order_number)))
        if answer.get("out_trade_no") != order_number:
            raise ChannelError("bad_response", BAD_RESPONSE, retryable=False)
        return payment_result(answer)

    async def close(self, order_number: str) -> None:
        """Close an unpaid order. An order WeChat Pay never heard of is as good as closed; a paid
        one raises ``ORDERPAID``."""
        _check_order_number(order_number)
        status, body = await self._call(lambda sdk: sdk.close(out_trade_no=order_number))
        if status == 204:
            return
        try:
            _json(status, body, ok=())
        except ChannelError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return
            raise

    # -- refunds

    async def refund(self, request: RefundRequest) -> RefundResult:
        _check_refund_number(request.refund_number)
        arguments: dict[str, Any] = {
            "out_refund_no": request.refund_number,
            "amount": {"refund": request.amount_fen, "total": request.order_total_fen, "currency": "CNY"},
            "reason": request.reason[:MAX_REFUND_REASON] or None,
            "notify_url": request.notify_url,
        }
        if request.transaction_id:
            arguments["transaction_id"] = request.transaction_id
        else:
            _check_order_number(request.order_number)
            arguments["out_trade_no"] = request.order_number
        answer = _json(*await self._call(lambda sdk: sdk.refund(**arguments)))
        return self._refund_result(
            answer, refund_number=request.refund_number, order_number=request.order_number
        )

    async def query_refund(self, refund_number: str, *, order_number: str) -> RefundResult:
        _check_refund_number(refund_number)
        # The SDK puts the number in the path as it is; WeChat allows "|" and "@" in it.
        path_safe = quote(refund_number, safe="")
        answer = _json(*await self._call(lambda sdk: sdk.query_refund(out_refund_no=path_safe)))
        return self._refund_result(answer, refund_number=refund_number, order_number=order_number)

    def _refund_result(
        self, answer: dict[str, Any], *, refund_number: str, order_number: str
    ) -> RefundResult:
        if answer.get("out_refund_no") != refund_number or answer.get("out_trade_no") != order_number:
            raise ChannelError("bad_response", "微信支付退款单与订单不符", retryable=False)
        return refund_result(answer)

    # -- statement

    async def download_statement(self, day: date) -> bytes:
        """The trade bill (交易账单, type ALL) of ``day`` in Beijing time: WeChat's CSV, every field
        after a backtick. ``NO_STATEMENT_EXIST``: no trade that day; ``STATEMENT_CREATING``
        (retryable): not out yet (WeChat publishes after about 10:00 the next day)."""
        bill_date = day.isoformat()
        answer = _json(*await self._call(lambda sdk: sdk.trade_bill(bill_date=bill_date)))
        download_url = _text(answer, "download_url")
        # Only the path and query are taken, onto our own gateway: the SDK would sign a request to
        # whatever host the answer names, and mangles URLs of another host than its gateway.
        parts = urlsplit(download_url)
        target = f"{self.counterpart.gateway.rstrip('/')}{parts.path}?{parts.query}"
        status, content = await self._call(lambda sdk: sdk.download_bill(target))
        if status != 200:
            _json(status, content)
        raw = content.encode() if isinstance(content, str) else content
        try:
            bill = gzip.decompress(raw)
        except (OSError, EOFError):
            raise ChannelError("bad_response", "微信支付账单文件无法解压", retryable=True) from None
        # SHA1 is WeChat's choice; the digest itself came in a signed answer.
        digest = hashlib.sha1(bill, usedforsecurity=False).hexdigest()
        expected = str(answer.get("hash_value", "")).lower()
        if answer.get("hash_type") != "SHA1" or not hmac.compare_digest(digest, expected):
            raise ChannelError("statement_hash_mismatch", "微信支付账单文件校验失败", retryable=True)
        return bill

    # -- notifications

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        try:
            return await self._parse_notification(headers, body)
        except NotificationRejected as exc:
            log.warning("WeChat Pay notification rejected: %s", exc.reason)
            raise

    async def _parse_notification(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        lowered = {key.lower(): value for key, value in headers.items()}
        signature = lowered.get("wechatpay-signature", "")
        timestamp = lowered.get("wechatpay-timestamp", "")
        nonce = lowered.get("wechatpay-nonce", "")
        serial = lowered.get("wechatpay-serial", "")
        if not (signature and timestamp and nonce and serial):
            raise NotificationRejected("missing Wechatpay-Signature, -Timestamp, -Nonce or -Serial")
        signature_type = lowered.get("wechatpay-signature-type", wire.SIGNATURE_TYPE)
        if signature_type != wire.SIGNATURE_TYPE:
            raise NotificationRejected(f"unsupported signature type {signature_type[:40]!r}")
        platform = await self.counterpart.platform_key()
        if serial != platform.key_id:
            raise NotificationRejected(f"signed under an unknown serial {serial[:64]!r}")
        # WeChat's probes (signatures starting "WECHATPAY/SIGNTEST/") fail here, as they should.
        if not wire.verify(platform.public_key, wire.signed_message(timestamp, nonce, body), signature):
            raise NotificationRejected("bad signature")
        if not timestamp.isdigit():
            raise NotificationRejected("malformed Wechatpay-Timestamp")
        sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        if abs(now() - sent_at) > TIMESTAMP_TOLERANCE:
            raise NotificationRejected(f"Wechatpay-Timestamp {timestamp} is more than five minutes off")
        if len(nonce) > MAX_NONCE_LENGTH:
            raise NotificationRejected("Wechatpay-Nonce too long")
        envelope, resource = self._decrypt(body)
        if resource.get("mchid") != self.config.mchid:
            raise NotificationRejected("notification for another merchant")
        notification = _verified(envelope, resource)
        # Last, so that a notification refused for any other reason does not use up its nonce.
        if not await self.nonces.remember(nonce, expires_at=sent_at + NONCE_KEPT_FOR):
            raise NotificationReplayed("replayed Wechatpay-Nonce")
        return notification

    def _decrypt(self, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            envelope = json.loads(body)
            encrypted = envelope["resource"]
            if envelope.get("resource_type") != "encrypt-resource":
                raise NotificationRejected("resource_type is not encrypt-resource")
            if encrypted.get("algorithm") != wire.AEAD_ALGORITHM:
                raise NotificationRejected("unsupported resource algorithm")
            plaintext = wire.decrypt_resource(
                self.config.apiv3_key,
                nonce=encrypted["nonce"],
                ciphertext=encrypted["ciphertext"],
                associated_data=encrypted.get("associated_data") or "",
            )
            resource = json.loads(plaintext)
        except NotificationRejected:
            raise
        except ValueError as exc:  # includes JSONDecodeError and a failed decryption
            raise NotificationRejected(f"undecryptable or malformed: {exc}") from None
        except (KeyError, TypeError, AttributeError):
            raise NotificationRejected("malformed notification") from None
        if not isinstance(envelope.get("id"), str) or not isinstance(resource, dict):
            raise NotificationRejected("malformed notification")
        return envelope, resource

    def acknowledge(self, *, accepted: bool) -> Acknowledgement:
        """200 stops WeChat Pay's resends; anything else (500 here) makes it resend later."""
        body = ACCEPTED if accepted else NOT_ACCEPTED
        return Acknowledgement(
            status=200 if accepted else 500,
            content_type="application/json",
            body=json.dumps(body, ensure_ascii=False).encode(),
        )

    # -- plumbing

    async def _client(self) -> _Sdk:
        if self._sdk is None:
            platform = await self.counterpart.platform_key()
            adapter = self.counterpart.adapter(asyncio.get_running_loop())
            if adapter is None:
                http = _network_session()
            else:
                http = requests.Session()
                http.mount(self.counterpart.gateway, adapter)
            self._sdk = _Sdk(self.config, platform, http=http, gateway=self.counterpart.gateway)
        return self._sdk

    async def _call(self, call: Callable[[_Sdk], tuple[int, str | bytes]]) -> tuple[int, str | bytes]:
        sdk = await self._client()
        try:
            return await asyncio.to_thread(call, sdk)
        except requests.Timeout:
            raise ChannelError("timeout", UNAVAILABLE, retryable=True) from None
        except requests.RequestException:
            raise ChannelError("unreachable", UNAVAILABLE, retryable=True) from None
        except Exception as exc:
            # The SDK raises bare Exception: a failed answer signature, or an argument it wanted.
            if type(exc) is not Exception:
                raise
            if "signature" in str(exc):
                raise ChannelError("invalid_response_signature", BAD_RESPONSE, retryable=False) from None
            raise ChannelError("PARAM_ERROR", str(exc), retryable=False) from None


# ---------------------------------------------------------------- answers → results


def payment_result(data: Mapping[str, Any]) -> PaymentResult:
    """A transaction (query answer or TRANSACTION.* resource) as ours. ``amount_fen`` is
    ``amount.total``, the order amount WeChat settled; ``payer_total`` (less any WeChat coupon)
    stays in ``raw``."""
    state = TRADE_STATES.get(str(data.get("trade_state")))
    order_number = data.get("out_trade_no")
    if state is None or not isinstance(order_number, str):
        raise ChannelError("bad_response", BAD_RESPONSE, retryable=False)
    amount = data.get("amount") or {}
    settled = state in ("paid", "refunded")
    return PaymentResult(
        order_number=order_number,
        state=state,
        amount_fen=_fen(amount.get("total")) if settled else None,
        transaction_id=data.get("transaction_id") or None,
        paid_at=_time(data.get("success_time")) if settled else None,
        raw=dict(data),
    )


def refund_result(data: Mapping[str, Any]) -> RefundResult:
    """A refund (refund answer, refund query or REFUND.* resource, which says ``refund_status``)."""
    status = str(data.get("status") or data.get("refund_status"))
    state = REFUND_STATES.get(status)
    refund_number = data.get("out_refund_no")
    amount = data.get("amount") or {}
    if state is None or not isinstance(refund_number, str):
        raise ChannelError("bad_response", BAD_RESPONSE, retryable=False)
    return RefundResult(
        refund_number=refund_number,
        state=state,
        amount_fen=_fen(amount.get("refund")),
        channel_refund_id=data.get("refund_id") or None,
        succeeded_at=_time(data.get("success_time")) if status == "SUCCESS" else None,
        raw=dict(data),
    )


def _verified(envelope: Mapping[str, Any], resource: Mapping[str, Any]) -> VerifiedNotification:
    event_type = envelope.get("event_type")
    try:
        if event_type == "TRANSACTION.SUCCESS":
            payment = payment_result(resource)
            if payment.state != "paid" or payment.amount_fen is None or not payment.transaction_id:
                raise NotificationRejected("TRANSACTION.SUCCESS without a successful transaction")
            return VerifiedNotification(notification_id=envelope["id"], kind="payment", payment=payment)
        if event_type in REFUND_EVENTS:
            refund = refund_result(resource)
            return VerifiedNotification(notification_id=envelope["id"], kind="refund", refund=refund)
    except ChannelError:
        raise NotificationRejected(f"malformed {event_type} resource") from None
    raise NotificationRejected(f"unsupported event_type {str(event_type)[:40]!r}")


def _check_order_number(order_number: str) -> None:
    if not _ORDER_NUMBER.match(order_number):
        raise ChannelError("PARAM_ERROR", "商户订单号格式不正确", retryable=False)


def _check_refund_number(refund_number: str) -> None:
    if not _REFUND_NUMBER.match(refund_number):
        raise ChannelError("PARAM_ERROR", "商户退款单号格式不正确", retryable=False)


def _json(status: int, body: str | bytes, *, ok: tuple[int, ...] = (200,)) -> dict[str, Any]:
    """The answer's JSON object, or ``ChannelError`` with WeChat's code when the status is not ``ok``."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = None
    if status in ok:
        if not isinstance(data, dict):
            raise ChannelError("bad_response", BAD_RESPONSE, retryable=False)
        return data
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        code = data["code"]
        message = str(data.get("message") or code)
        retryable = code in wire.RETRYABLE_CODES or status >= 500 or status == 429
        raise ChannelError(code, message, retryable=retryable)
    raise ChannelError(
        "bad_response", UNAVAILABLE if status >= 500 else BAD_RESPONSE, retryable=status >= 500
    )


def _text(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise ChannelError("bad_response", BAD_RESPONSE, retryable=False)
    return value


def _fen(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ChannelError("bad_response", BAD_RESPONSE, retryable=False)
    return value


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return wire.parse_time(value)
    except ValueError:
        raise ChannelError("bad_response", BAD_RESPONSE, retryable=False) from None


def _prepay_id_of(h5_url: str) -> str | None:
    values = parse_qs(urlsplit(h5_url).query).get("prepay_id")
    return values[0] if values else None
