"""The UnionPay channel (银联全渠道支付, online payment gateway protocol 5.1.0) over httpx.

Requests are form POSTs signed with the merchant signing key (``signing``); UnionPay's answers are
``k=v`` text signed with its signing certificate, checked against its root and intermediate certificates
before anything in them is believed.

- H5 (``h5``, ``jsapi``): consume through ``frontTransReq.do``, which the patient's browser posts: the
  prepay is that URL and the signed fields (``Prepay.url`` + ``Prepay.params``, an auto-submitting form).
- App (``mini_program``, the uni-app native build): consume through ``appTransReq.do``; the answer's
  ``tn`` goes to UnionPay's payment control (``Prepay.params["tn"]``).
- Query (``txnType=00``), refund (``txnType=04`` against the consume's ``queryId``) and the statement
  (file transfer, ``txnType=76``: a zip, deflated and base64-encoded in ``fileContent``).

UnionPay names a transaction by ``merId`` + ``orderId`` + ``txnTime``: a query must give the original
``txnTime`` and a retried refund must repeat it. The channel keeps each pair it sends in
``unionpay_submissions``. UnionPay has no "close": an unpaid order lapses at ``payTimeout`` (set from the
order's expiry); ``close`` records that ihos gave up and refuses if the order was paid meanwhile.

Amounts are fen on the wire; times are Beijing time (``yyyyMMddHHmmss``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment.alipay.replay import remember_notification
from ihos.integrations.payment.base import (
    Acknowledgement,
    ChannelError,
    ChannelName,
    NotificationRejected,
    NotificationReplayed,
    PaymentResult,
    Prepay,
    PrepayRequest,
    RefundRequest,
    RefundResult,
    RefundState,
    VerifiedNotification,
)
from ihos.integrations.payment.unionpay import signing
from ihos.kit.time import now
from ihos.models.sandbox_alipay_unionpay import UnionPaySubmission

log = logging.getLogger(__name__)

CHANNEL: ChannelName = "unionpay"
UNIONPAY_ZONE = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y%m%d%H%M%S"
VERSION = "5.1.0"
SIGN_METHOD = "01"
CURRENCY = "156"
CONSUME = "01"
REFUND = "04"
QUERY = "00"
FILE_TRANSFER = "76"
SUCCESS = "00"
NOT_FOUND = "34"
DUPLICATE = "12"
FILE_MISSING = "98"
# Answers that leave the outcome open: ask again later.
PENDING = {"03", "04", "05"}
RETRYABLE = {"02", "03", "04", "05", "06", "37"}
FRONT_PATH = "/gateway/api/frontTransReq.do"
APP_PATH = "/gateway/api/appTransReq.do"
BACK_PATH = "/gateway/api/backTransReq.do"
QUERY_PATH = "/gateway/api/queryTrans.do"
ORDER_ID = re.compile(r"^[0-9A-Za-z]{8,40}$")

UNAVAILABLE = "银联服务暂时不可用，请稍后再试"
FAILED = "银联支付请求失败"
# UnionPay respCodes → the words shown to people (UnionPay's table, shortened).
MESSAGES = {
    "01": "交易失败",
    "02": "银联系统暂时关闭，请稍后再试",
    "03": "交易通讯超时，请稍后查询",
    "04": "交易状态未明，请稍后查询",
    "05": "交易已受理，请稍后查询结果",
    "06": "银联系统繁忙，请稍后再试",
    "10": "银联报文格式错误",
    "11": "银联验签失败，请检查商户签名证书配置",
    "12": "重复交易",
    "13": "银联报文交易要素缺失",
    "31": "银联商户状态不正确",
    "32": "无此交易权限",
    "33": "交易金额超限",
    "34": "查无此交易",
    "35": "原交易不存在或状态不正确",
    "36": "与原交易信息不符",
    "37": "查询过于频繁，请稍后再试",
    "98": "银联对账文件尚未生成",
}


@dataclass(frozen=True)
class UnionPayConfig:
    merchant_id: str
    signing_key: rsa.RSAPrivateKey = field(repr=False)
    cert_id: str
    root_certificate: x509.Certificate = field(repr=False)
    middle_certificate: x509.Certificate = field(repr=False)
    check_certificate_name: bool = True
    gateway: str = "https://gateway.95516.com"
    file_gateway: str = "https://filedownload.95516.com/"
    front_return_url: str = ""
    timeout: float = 10.0
    notification_max_age: timedelta = timedelta(days=2)
    notification_clock_skew: timedelta = timedelta(minutes=5)


def beijing_text(moment: datetime) -> str:
    return moment.astimezone(UNIONPAY_ZONE).strftime(TIME_FORMAT)


def parse_beijing(text: str) -> datetime:
    if not re.fullmatch(r"\d{14}", text):
        raise ValueError(f"not a UnionPay time: {text!r}")
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UNIONPAY_ZONE)


def trace_moment(trace_time: str, txn_time: datetime) -> datetime | None:
    """``traceTime`` (MMddHHmmss, no year) placed in the year of the transaction it follows."""
    if not re.fullmatch(r"\d{10}", trace_time):
        return None
    local = txn_time.astimezone(UNIONPAY_ZONE)
    for year in (local.year, local.year + 1):
        try:
            moment = datetime.strptime(f"{year}{trace_time}", TIME_FORMAT).replace(tzinfo=UNIONPAY_ZONE)
        except ValueError:
            continue
        if moment >= local - timedelta(days=1):
            return moment
    return None


def parse_amount(text: object) -> int:
    if not isinstance(text, str) or not text.isdigit() or len(text) > 12:
        raise ValueError(f"not a UnionPay amount: {text!r}")
    return int(text)


class UnionPayChannel:
    """``PaymentChannel`` for UnionPay. One instance per use; ``session`` holds the submissions and the
    replay guard. ``transport`` (tests, the sandbox) replaces the network; ``on_front_form`` is told every
    signed H5 form handed out (the sandbox keeps them in its ledger)."""

    name: ChannelName = CHANNEL

    def __init__(
        self,
        session: AsyncSession,
        config: UnionPayConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_front_form: Callable[[Mapping[str, str]], Awaitable[None]] | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.transport = transport
        self.on_front_form = on_front_form

    # ------------------------------------------------------------------ prepay

    async def create_prepay(self, request: PrepayRequest) -> Prepay:
        if request.scene == "native":
            raise ChannelError("ihos.unsupported_scene", "银联暂不支持扫码支付", retryable=False)
        if not ORDER_ID.match(request.order_number):
            raise ChannelError("ihos.invalid_order_number", "订单号须为8至40位字母或数字", retryable=False)
        if request.amount_fen <= 0:
            raise ChannelError("ihos.invalid_amount", "支付金额必须大于零", retryable=False)
        submission = await self._submission(
            CONSUME, request.order_number, amount_fen=request.amount_fen, pay_timeout=request.expires_at
        )
        fields = {
            **self._common(),
            "txnType": CONSUME,
            "txnSubType": "01",
            "bizType": "000201",
            "channelType": "08",
            "orderId": request.order_number,
            "txnTime": submission.txn_time,
            "txnAmt": str(request.amount_fen),
            "currencyCode": CURRENCY,
            "backUrl": request.notify_url,
            "payTimeout": beijing_text(request.expires_at),
        }
        if request.scene in ("h5", "jsapi"):
            if self.config.front_return_url:
                fields["frontUrl"] = self.config.front_return_url
            signed = self._signed(fields)
            if self.on_front_form is not None:
                await self.on_front_form(signed)
            return Prepay(
                channel=CHANNEL, url=self.config.gateway + FRONT_PATH, params=signed, url_method="post"
            )
        answer = await self._post(self.config.gateway + APP_PATH, self._signed(fields))
        if answer.get("respCode") != SUCCESS:
            raise _refusal(answer)
        tn = answer.get("tn", "")
        if not tn:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        return Prepay(channel=CHANNEL, channel_reference=tn, params={"tn": tn})

    # ------------------------------------------------------------------ notifications

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        params = _form(body)
        signature = params.get(signing.SIGNATURE, "")
        if not signature:
            raise NotificationRejected("unsigned notification")
        if params.get("version") != VERSION or params.get("signMethod") != SIGN_METHOD:
            raise NotificationRejected("not a 5.1.0 RSA notification")
        public_key = self._unionpay_key(params.get("signPubKeyCert", ""))
        if not signing.verify(public_key, params, signature):
            raise NotificationRejected("signature does not verify with UnionPay's signing certificate")
        if params.get("merId") != self.config.merchant_id:
            raise NotificationRejected(f"notification for another merchant: {params.get('merId')!r}")
        txn_type = params.get("txnType", "")
        if txn_type not in (CONSUME, REFUND):
            raise NotificationRejected(f"unexpected txnType {txn_type!r}")
        txn_time = self._check_txn_time(params.get("txnTime", ""))
        query_id = params.get("queryId", "")
        order_id = params.get("orderId", "")
        if not query_id or not order_id:
            raise NotificationRejected("no queryId or orderId")
        try:
            amount = parse_amount(params.get("txnAmt"))
        except ValueError as exc:
            raise NotificationRejected(str(exc)) from None
        is_success = params.get("respCode") == SUCCESS
        at = trace_moment(params.get("traceTime", ""), txn_time) if is_success else None
        raw = {name: value for name, value in params.items() if name not in ("signPubKeyCert", "signature")}
        notification_id = f"{query_id}:{txn_type}"
        if txn_type == CONSUME:
            notification = VerifiedNotification(
                notification_id=notification_id,
                kind="payment",
                payment=PaymentResult(
                    order_number=order_id,
                    state="paid" if is_success else "failed",
                    amount_fen=amount if is_success else None,
                    transaction_id=query_id,
                    paid_at=at,
                    raw=raw,
                ),
            )
        else:
            notification = VerifiedNotification(
                notification_id=notification_id,
                kind="refund",
                refund=RefundResult(
                    refund_number=order_id,
                    state="succeeded" if is_success else "failed",
                    amount_fen=amount,
                    channel_refund_id=query_id,
                    succeeded_at=at,
                    raw=raw,
                ),
            )
        if not await remember_notification(
            self.session,
            channel=CHANNEL,
            notification_id=notification_id,
            notified_at=txn_time,
            keep=self.config.notification_max_age + self.config.notification_clock_skew,
        ):
            raise NotificationReplayed(f"replayed notification ({notification_id} already accepted)")
        return notification

    def _check_txn_time(self, text: str) -> datetime:
        try:
            txn_time = parse_beijing(text)
        except ValueError:
            raise NotificationRejected(f"bad txnTime {text!r}") from None
        moment = now()
        if txn_time < moment - self.config.notification_max_age:
            raise NotificationRejected(f"stale notification (txnTime {text})")
        if txn_time > moment + self.config.notification_clock_skew:
            raise NotificationRejected(f"txnTime in the future ({text})")
        return txn_time

    def _unionpay_key(self, pem: str) -> rsa.RSAPublicKey:
        try:
            return signing.check_signing_certificate(
                pem,
                root=self.config.root_certificate,
                middle=self.config.middle_certificate,
                at=now(),
                check_name=self.config.check_certificate_name,
            )
        except signing.CertificateRejected as exc:
            raise NotificationRejected(str(exc)) from None

    def acknowledge(self, *, accepted: bool) -> Acknowledgement:
        # UnionPay reads only the HTTP status: anything but 200 makes it resend.
        if accepted:
            return Acknowledgement(status=200, content_type="text/plain; charset=utf-8", body=b"ok")
        return Acknowledgement(status=400, content_type="text/plain; charset=utf-8", body=b"fail")

    # ------------------------------------------------------------------ queries and changes

    async def query_payment(self, order_number: str) -> PaymentResult:
        submission = await self._find(CONSUME, order_number)
        if submission is None:
            raise ChannelError("ihos.not_submitted", "该订单未向银联下单", retryable=False)
        answer = await self._query(order_number, submission.txn_time)
        code = answer.get("respCode")
        if code == NOT_FOUND:
            # UnionPay knows an order only once the patient starts paying it.
            lapsed = submission.closed_at is not None or (
                submission.pay_timeout is not None and submission.pay_timeout <= now()
            )
            return PaymentResult(
                order_number=order_number, state="closed" if lapsed else "pending", raw=answer
            )
        if code != SUCCESS:
            raise _refusal(answer)
        original = answer.get("origRespCode", "")
        if original in PENDING:
            return PaymentResult(order_number=order_number, state="pending", raw=answer)
        if original != SUCCESS:
            return PaymentResult(order_number=order_number, state="failed", raw=answer)
        try:
            amount = parse_amount(answer.get("txnAmt"))
        except ValueError:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None
        return PaymentResult(
            order_number=order_number,
            state="paid",
            amount_fen=amount,
            transaction_id=answer.get("queryId") or None,
            paid_at=trace_moment(answer.get("traceTime", ""), parse_beijing(submission.txn_time)),
            raw=answer,
        )

    async def close(self, order_number: str) -> None:
        submission = await self._find(CONSUME, order_number)
        if submission is None:
            return
        result = await self.query_payment(order_number)
        if result.state == "paid":
            raise ChannelError("ihos.order_paid", "订单已支付，无法关闭", retryable=False)
        moment = now()
        await self.session.execute(
            update(UnionPaySubmission)
            .where(UnionPaySubmission.id == submission.id, UnionPaySubmission.closed_at.is_(None))
            .values(closed_at=moment, updated_at=moment)
            .execution_options(synchronize_session=False)
        )

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not ORDER_ID.match(request.refund_number):
            raise ChannelError("ihos.invalid_refund_number", "退款单号须为8至40位字母或数字", retryable=False)
        if request.amount_fen <= 0:
            raise ChannelError("ihos.invalid_amount", "退款金额必须大于零", retryable=False)
        original_query_id = request.transaction_id
        if not original_query_id:
            payment = await self.query_payment(request.order_number)
            if payment.state != "paid" or not payment.transaction_id:
                raise ChannelError("35", MESSAGES["35"], retryable=False)
            original_query_id = payment.transaction_id
        submission = await self._submission(
            REFUND, request.refund_number, amount_fen=request.amount_fen, original_query_id=original_query_id
        )
        fields = {
            **self._common(),
            "txnType": REFUND,
            "txnSubType": "00",
            "bizType": "000201",
            "channelType": "07",
            "orderId": request.refund_number,
            "txnTime": submission.txn_time,
            "txnAmt": str(request.amount_fen),
            "currencyCode": CURRENCY,
            "origQryId": submission.original_query_id or original_query_id,
            "backUrl": request.notify_url,
        }
        answer = await self._post(self.config.gateway + BACK_PATH, self._signed(fields))
        code = answer.get("respCode", "")
        if code == DUPLICATE:
            # The same refund (orderId + txnTime) again: UnionPay keeps the first; ask how it went.
            return await self.query_refund(request.refund_number, order_number=request.order_number)
        if code != SUCCESS and code not in PENDING:
            raise _refusal(answer)
        # 00 here means accepted: the result follows by notification (or query).
        return RefundResult(
            refund_number=request.refund_number,
            state="processing",
            amount_fen=request.amount_fen,
            channel_refund_id=answer.get("queryId") or None,
            raw=answer,
        )

    async def query_refund(self, refund_number: str, *, order_number: str) -> RefundResult:
        submission = await self._find(REFUND, refund_number)
        if submission is None:
            return RefundResult(
                refund_number=refund_number, state="failed", amount_fen=0, raw={"found": False}
            )
        answer = await self._query(refund_number, submission.txn_time)
        code = answer.get("respCode")
        if code == NOT_FOUND:
            # Never reached UnionPay: retrying under the same number is safe.
            return RefundResult(refund_number=refund_number, state="failed", amount_fen=0, raw=answer)
        if code != SUCCESS:
            raise _refusal(answer)
        original = answer.get("origRespCode", "")
        state: RefundState = (
            "succeeded" if original == SUCCESS else "processing" if original in PENDING else "failed"
        )
        try:
            amount = parse_amount(answer.get("txnAmt")) if state == "succeeded" else submission.amount_fen
        except ValueError:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None
        return RefundResult(
            refund_number=refund_number,
            state=state,
            amount_fen=amount,
            channel_refund_id=answer.get("queryId") or None,
            succeeded_at=(
                trace_moment(answer.get("traceTime", ""), parse_beijing(submission.txn_time))
                if state == "succeeded"
                else None
            ),
            raw=answer,
        )

    async def download_statement(self, day: date) -> bytes:
        """The merchant settlement files (对账文件) of settlement day ``day``: UnionPay's zip (ZM, ZME…)."""
        fields = {
            **self._common(),
            "txnType": FILE_TRANSFER,
            "txnSubType": "01",
            "bizType": "000000",
            "settleDate": day.strftime("%m%d"),
            "txnTime": beijing_text(now()),
            "fileType": "00",
        }
        answer = await self._post(self.config.file_gateway, self._signed(fields))
        code = answer.get("respCode", "")
        if code == FILE_MISSING:
            # A settlement day closes at 23:00 Beijing time; its files follow the next morning.
            yesterday = now().astimezone(UNIONPAY_ZONE).date() - timedelta(days=1)
            raise ChannelError(code, MESSAGES[code], retryable=day >= yesterday)
        if code != SUCCESS:
            raise _refusal(answer)
        try:
            content = zlib.decompress(base64.b64decode(answer.get("fileContent", ""), validate=True))
        except (binascii.Error, zlib.error, ValueError):
            raise ChannelError("bad_response", "银联对账文件无法解压", retryable=True) from None
        if not content.startswith(b"PK"):
            raise ChannelError("bad_response", "银联对账文件格式不正确", retryable=True)
        return content

    # ------------------------------------------------------------------ the wire

    def _common(self) -> dict[str, str]:
        return {
            "version": VERSION,
            "encoding": "UTF-8",
            "signMethod": SIGN_METHOD,
            "accessType": "0",
            "merId": self.config.merchant_id,
            "certId": self.config.cert_id,
        }

    def _signed(self, fields: dict[str, str]) -> dict[str, str]:
        signed = {name: value for name, value in fields.items() if value != ""}
        signed[signing.SIGNATURE] = signing.sign(self.config.signing_key, signed)
        return signed

    async def _query(self, order_id: str, txn_time: str) -> dict[str, str]:
        fields = {
            **self._common(),
            "txnType": QUERY,
            "txnSubType": "00",
            "bizType": "000000",
            "orderId": order_id,
            "txnTime": txn_time,
        }
        return await self._post(self.config.gateway + QUERY_PATH, self._signed(fields))

    async def _post(self, url: str, fields: dict[str, str]) -> dict[str, str]:
        """POST a signed request; UnionPay's answer once its signature checks out (a success must be
        signed; an unsigned refusal is believed, as it costs at most one failed call)."""
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.config.timeout) as http:
                response = await http.post(url, data=fields)
        except httpx.TimeoutException:
            raise ChannelError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise ChannelError("unreachable", UNAVAILABLE, retryable=True) from None
        if response.status_code != 200:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=response.status_code >= 500)
        try:
            answer = signing.parse_answer(response.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None
        signature = answer.get(signing.SIGNATURE)
        if signature or answer.get("respCode") == SUCCESS:
            try:
                key = signing.check_signing_certificate(
                    answer.get("signPubKeyCert", ""),
                    root=self.config.root_certificate,
                    middle=self.config.middle_certificate,
                    at=now(),
                    check_name=self.config.check_certificate_name,
                )
            except signing.CertificateRejected as exc:
                log.warning("UnionPay answer refused: %s", exc)
                raise ChannelError("invalid_response_signature", UNAVAILABLE, retryable=False) from None
            if not signature or not signing.verify(key, answer, signature):
                log.warning("UnionPay answer signature does not verify; answer discarded")
                raise ChannelError("invalid_response_signature", UNAVAILABLE, retryable=False)
        if answer.get("merId", self.config.merchant_id) != self.config.merchant_id:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=False)
        return answer

    # ------------------------------------------------------------------ what was sent

    async def _find(self, txn_type: str, order_id: str) -> UnionPaySubmission | None:
        submission: UnionPaySubmission | None = await self.session.scalar(
            select(UnionPaySubmission).where(
                UnionPaySubmission.merchant_id == self.config.merchant_id,
                UnionPaySubmission.txn_type == txn_type,
                UnionPaySubmission.order_id == order_id,
            )
        )
        return submission

    async def _submission(
        self,
        txn_type: str,
        order_id: str,
        *,
        amount_fen: int,
        pay_timeout: datetime | None = None,
        original_query_id: str | None = None,
    ) -> UnionPaySubmission:
        """The order's (or refund's) first submission, recorded now if there was none: a retry repeats
        its txnTime, so UnionPay sees the same transaction."""
        submission = await self._find(txn_type, order_id)
        if submission is None:
            candidate = UnionPaySubmission(
                merchant_id=self.config.merchant_id,
                txn_type=txn_type,
                order_id=order_id,
                txn_time=beijing_text(now()),
                amount_fen=amount_fen,
                pay_timeout=pay_timeout,
                original_query_id=original_query_id,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(candidate)
                    await self.session.flush()
                return candidate
            except IntegrityError:
                submission = await self._find(txn_type, order_id)
                if submission is None:  # pragma: no cover - the conflicting row exists
                    raise
        if submission.amount_fen != amount_fen:
            what = "退款单号" if txn_type == REFUND else "订单号"
            raise ChannelError(DUPLICATE, f"重复交易：{what}已用于另一金额", retryable=False)
        return submission


def _refusal(answer: Mapping[str, str]) -> ChannelError:
    code = answer.get("respCode") or "unknown"
    retryable = code in RETRYABLE
    message = MESSAGES.get(code) or answer.get("respMsg") or (UNAVAILABLE if retryable else FAILED)
    log.info("UnionPay refused: %s %s", code, answer.get("respMsg", ""))
    return ChannelError(code, message, retryable=retryable)


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise NotificationRejected("body is not a UTF-8 form") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise NotificationRejected("a field appears twice")
    # UnionPay's SDK drops blank fields before verifying; so does ihos.
    return {name: value for name, value in params.items() if value != ""}
