"""The UnionPay sandbox (银联沙箱): a fake online-payment gateway (全渠道 5.1.0) behind a MockTransport.

The real channel (``UnionPayChannel``) talks to it in-process, and it answers as UnionPay does: it checks
the common fields and verifies the merchant's RSA signature with the certificate named by ``certId``,
answers in UnionPay's ``k=v`` form with its respCodes (``12`` 重复交易, ``34`` 查无此交易, ``35``…), and
signs every answer and notification with its own signing certificate, which it sends in
``signPubKeyCert`` and which chains to a sandbox root through a sandbox intermediate, so the channel's
certificate checks run as in production.

It keeps a ledger (``sandbox_unionpay_orders``, ``sandbox_unionpay_refunds``): ``simulate_payment`` plays
the cardholder paying; payments and refunds are notified to the ``backUrl`` as signed form POSTs through
the payment courier, after the caller's transaction commits. Refunds are accepted (``00``) and succeed at
once. Settlement days close at 23:00 Beijing time, as UnionPay's do; the file transfer serves a closed
day's ledger as a ZM file. ``control`` makes it fail, time out, delay, duplicate, reorder or drop
notifications, or pay another amount than asked.

Keys and certificates are generated per process (both ends run in it), so nothing is written to disk.
"""

from __future__ import annotations

import base64
import html
import secrets
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment import courier
from ihos.integrations.payment.base import ChannelError
from ihos.integrations.payment.unionpay import signing
from ihos.integrations.payment.unionpay.client import (
    APP_PATH,
    BACK_PATH,
    CONSUME,
    CURRENCY,
    DUPLICATE,
    FILE_MISSING,
    FILE_TRANSFER,
    FRONT_PATH,
    NOT_FOUND,
    ORDER_ID,
    QUERY,
    QUERY_PATH,
    REFUND,
    SIGN_METHOD,
    SUCCESS,
    UNIONPAY_ZONE,
    VERSION,
    parse_amount,
    parse_beijing,
)
from ihos.integrations.payment.unionpay.settings import UnionPayFailureMode, UnionPaySandboxSettings
from ihos.integrations.payment.unionpay.statement import (
    CODES,
    amount_field,
    build_zip,
    signed_field,
    zip_name,
)
from ihos.kit.time import now
from ihos.models.sandbox_alipay_unionpay import SandboxUnionPayOrder, SandboxUnionPayRefund

SANDBOX_GATEWAY = "https://gateway.unionpay.sandbox.ihos.invalid"
SANDBOX_FILE_GATEWAY = "https://filedownload.unionpay.sandbox.ihos.invalid/"
SANDBOX_MERCHANT_ID = "777290058110097"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
SUCCESS_MESSAGE = "成功[0000000]"
# Each reordered notification is due this much sooner than the one before it.
REORDER_SPAN = timedelta(minutes=1)
REORDER_STEP = timedelta(seconds=1)
# UnionPay's settlement day runs from 23:00 the day before to 23:00 (Beijing time).
SETTLEMENT_CUTOFF = time(23, 0)
REQUIRED = ("version", "encoding", "signMethod", "txnType", "txnSubType", "bizType", "accessType", "merId")


class SandboxPaymentError(Exception):
    """``simulate_payment`` cannot pay: no such order, already paid, or past its payTimeout."""


@dataclass(frozen=True)
class SandboxPayment:
    order_number: str
    transaction_id: str  # queryId
    amount_fen: int
    paid_at: datetime


@dataclass(frozen=True)
class SandboxPki:
    """The sandbox's certificates: a root and an intermediate, UnionPay's signing certificate, and a
    merchant signing certificate (what UnionPay would issue to the hospital as a .pfx)."""

    root: x509.Certificate
    middle: x509.Certificate
    unionpay_key: rsa.RSAPrivateKey
    unionpay_certificate: x509.Certificate
    merchant_key: rsa.RSAPrivateKey
    merchant_certificate: x509.Certificate


@lru_cache
def sandbox_pki() -> SandboxPki:
    root_key = _key()
    middle_key = _key()
    unionpay_key = _key()
    merchant_key = _key()
    root_name = _name("ihos sandbox UnionPay Root CA", "ihos sandbox CA")
    middle_name = _name("ihos sandbox UnionPay OCA1", "ihos sandbox CA")
    root = _certificate(root_name, root_name, root_key.public_key(), root_key, is_ca=True)
    middle = _certificate(middle_name, root_name, middle_key.public_key(), root_key, is_ca=True)
    unionpay_certificate = _certificate(
        _name(f"041@Z{SANDBOX_MERCHANT_ID}@{signing.UNIONPAY_NAME}@00000001", "ihos sandbox OCA1"),
        middle_name,
        unionpay_key.public_key(),
        middle_key,
        is_ca=False,
    )
    merchant_certificate = _certificate(
        _name(f"041@Z{SANDBOX_MERCHANT_ID}@ihos sandbox hospital@00000002", "ihos sandbox OCA1"),
        middle_name,
        merchant_key.public_key(),
        middle_key,
        is_ca=False,
    )
    return SandboxPki(root, middle, unionpay_key, unionpay_certificate, merchant_key, merchant_certificate)


class UnionPaySandboxControl:
    """Run-time switches of the sandbox, for tests and demos; ``reset()`` puts everything back."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # Wins over the setting when set.
        self.failure_mode: UnionPayFailureMode | None = None
        # Wins over the setting when set.
        self.notification_delay: timedelta | None = None
        # Every notification is delivered this many times (UnionPay resends; receivers must cope).
        self.notification_copies = 1
        # Notifications are not sent at all: only an active query finds the outcome.
        self.drop_notifications = False
        # Each notification is due sooner than the one sent before it, so later events arrive first.
        self.reorder_notifications = False
        # The next payments pay this amount instead of the order's.
        self.paid_amount_fen: int | None = None
        self._reordered = 0

    @contextmanager
    def failing(self, mode: UnionPayFailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous

    @contextmanager
    def delaying(self, delay: timedelta) -> Iterator[None]:
        previous, self.notification_delay = self.notification_delay, delay
        try:
            yield
        finally:
            self.notification_delay = previous

    @contextmanager
    def duplicating(self, copies: int = 2) -> Iterator[None]:
        previous, self.notification_copies = self.notification_copies, copies
        try:
            yield
        finally:
            self.notification_copies = previous

    @contextmanager
    def dropping(self) -> Iterator[None]:
        previous, self.drop_notifications = self.drop_notifications, True
        try:
            yield
        finally:
            self.drop_notifications = previous

    @contextmanager
    def reordering(self) -> Iterator[None]:
        previous, self.reorder_notifications, self._reordered = self.reorder_notifications, True, 0
        try:
            yield
        finally:
            self.reorder_notifications = previous

    @contextmanager
    def paying(self, amount_fen: int) -> Iterator[None]:
        previous, self.paid_amount_fen = self.paid_amount_fen, amount_fen
        try:
            yield
        finally:
            self.paid_amount_fen = previous

    def next_delay(self, base: timedelta) -> timedelta:
        if not self.reorder_notifications:
            return base
        self._reordered += 1
        return base + max(REORDER_SPAN - self._reordered * REORDER_STEP, timedelta())


control = UnionPaySandboxControl()


def settlement_day(moment: datetime) -> date:
    """The UnionPay settlement day of ``moment``: after 23:00 Beijing time it is the next day's."""
    local = moment.astimezone(UNIONPAY_ZONE)
    return (local + timedelta(days=1)).date() if local.time() >= SETTLEMENT_CUTOFF else local.date()


class _Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(code)


class UnionPaySandbox:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: UnionPaySandboxSettings,
        merchant_id: str,
        merchant_certificate: x509.Certificate,
        pki: SandboxPki,
    ) -> None:
        self.session = session
        self.settings = settings
        self.merchant_id = merchant_id
        self.merchant_certificate = merchant_certificate
        self.pki = pki
        self.certificate_pem = signing.certificate_pem(pki.unionpay_certificate)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # ------------------------------------------------------------------ the cardholder's side

    async def register_front_form(self, fields: Mapping[str, str]) -> None:
        """A signed H5 form was handed to a patient: remember the order (UnionPay learns of it when the
        browser posts the form; until paid, queries answer 34)."""
        try:
            self._check_request(dict(fields), CONSUME)
            await self._consume(dict(fields), access="front")
        except _Refusal as refusal:
            raise ChannelError(refusal.code, refusal.message, retryable=False) from None

    async def simulate_payment(self, order_number: str) -> SandboxPayment:
        """The cardholder pays ``order_number``: the ledger records it and the notification is queued."""
        order: SandboxUnionPayOrder | None = await self.session.scalar(
            select(SandboxUnionPayOrder).where(
                SandboxUnionPayOrder.merchant_id == self.merchant_id,
                SandboxUnionPayOrder.order_id == order_number,
            )
        )
        if order is None:
            raise SandboxPaymentError(f"no sandbox order {order_number}")
        if order.state != "issued":
            raise SandboxPaymentError(f"order {order_number} is {order.state}")
        moment = now()
        if order.pay_timeout is not None and order.pay_timeout <= moment:
            raise SandboxPaymentError(f"order {order_number} is past its payTimeout")
        amount = control.paid_amount_fen if control.paid_amount_fen is not None else order.amount_fen
        result = await self.session.execute(
            update(SandboxUnionPayOrder)
            .where(SandboxUnionPayOrder.id == order.id, SandboxUnionPayOrder.state == "issued")
            .values(
                state="paid",
                paid_fen=amount,
                query_id=_query_id(moment),
                trace_no=f"{secrets.randbelow(10**6):06d}",
                trace_time=moment.astimezone(UNIONPAY_ZONE).strftime("%m%d%H%M%S"),
                settle_date=settlement_day(moment).strftime("%m%d"),
                card_number=f"6216***********{secrets.randbelow(10**4):04d}",
                paid_at=moment,
                updated_at=moment,
            )
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            raise SandboxPaymentError(f"order {order_number} changed while paying")
        await self.session.refresh(order)
        await self._notify(order.back_url, self._consume_fields(order))
        return SandboxPayment(
            order_number=order_number, transaction_id=order.query_id or "", amount_fen=amount, paid_at=moment
        )

    # ------------------------------------------------------------------ the gateway

    async def handle(self, request: httpx.Request) -> httpx.Response:
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        if mode == "unavailable":
            return httpx.Response(503, text="Service Unavailable")
        fields = dict(parse_qsl((await request.aread()).decode("utf-8"), keep_blank_values=True))
        fields = {name: value for name, value in fields.items() if value != ""}
        path = request.url.path
        is_file = f"https://{request.url.host}/" == SANDBOX_FILE_GATEWAY
        expected = {
            FRONT_PATH: CONSUME,
            APP_PATH: CONSUME,
            QUERY_PATH: QUERY,
            BACK_PATH: REFUND,
        }.get(path, FILE_TRANSFER if is_file else "")
        if not expected:
            return httpx.Response(404, text="Not Found")
        try:
            self._check_request(fields, expected)
            if mode == "busy":
                raise _Refusal("06", "系统繁忙，请稍后再试")
            if path == FRONT_PATH:
                order = await self._consume(fields, access="front")
                return httpx.Response(200, text=_page(order))
            if path == APP_PATH:
                order = await self._consume(fields, access="app")
                answer = {"tn": order.tn or ""}
            elif path == QUERY_PATH:
                answer = await self._query(fields)
            elif path == BACK_PATH:
                answer = await self._refund(fields)
            else:
                answer = await self._file(fields)
        except _Refusal as refusal:
            return self._answer(fields, {"respCode": refusal.code, "respMsg": refusal.message})
        return self._answer(fields, {"respCode": SUCCESS, "respMsg": SUCCESS_MESSAGE, **answer})

    def _check_request(self, fields: dict[str, str], txn_type: str) -> None:
        for name in REQUIRED:
            if not fields.get(name):
                raise _Refusal("13", f"报文交易要素缺失[{name}]")
        if fields["version"] != VERSION or fields["signMethod"] != SIGN_METHOD:
            raise _Refusal("10", "报文格式错误[version/signMethod]")
        if fields["merId"] != self.merchant_id:
            raise _Refusal("31", "商户状态不正确")
        if fields.get("certId") != signing.cert_id(self.merchant_certificate):
            raise _Refusal("11", "验证签名失败[certId]")
        merchant_key = self.merchant_certificate.public_key()
        if not isinstance(merchant_key, rsa.RSAPublicKey) or not signing.verify(
            merchant_key, fields, fields.get(signing.SIGNATURE, "")
        ):
            raise _Refusal("11", "验证签名失败")
        if fields["txnType"] != txn_type:
            raise _Refusal("32", "无此交易权限")
        if txn_type != FILE_TRANSFER:
            if not ORDER_ID.match(fields.get("orderId", "")):
                raise _Refusal("10", "报文格式错误[orderId]")
            try:
                parse_beijing(fields.get("txnTime", ""))
            except ValueError:
                raise _Refusal("10", "报文格式错误[txnTime]") from None

    async def _consume(self, fields: dict[str, str], *, access: str) -> SandboxUnionPayOrder:
        try:
            amount = parse_amount(fields.get("txnAmt"))
            pay_timeout = parse_beijing(fields["payTimeout"]) if fields.get("payTimeout") else None
        except ValueError:
            raise _Refusal("10", "报文格式错误[txnAmt/payTimeout]") from None
        if amount <= 0 or fields.get("currencyCode") != CURRENCY:
            raise _Refusal("10", "报文格式错误[txnAmt/currencyCode]")
        if not fields.get("backUrl"):
            raise _Refusal("13", "报文交易要素缺失[backUrl]")
        order_id, txn_time = fields["orderId"], fields["txnTime"]
        order = await self._order(order_id)
        if order is None:
            candidate = SandboxUnionPayOrder(
                merchant_id=self.merchant_id,
                order_id=order_id,
                txn_time=txn_time,
                amount_fen=amount,
                access=access,
                tn=_tn() if access == "app" else None,
                back_url=fields["backUrl"],
                pay_timeout=pay_timeout,
                state="issued",
                refunded_fen=0,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(candidate)
                    await self.session.flush()
                return candidate
            except IntegrityError:
                order = await self._order(order_id)
                if order is None:  # pragma: no cover - the conflicting row exists
                    raise _Refusal("06", "系统繁忙，请稍后再试") from None
        # The same order again: its tn (or form) once more while unpaid, as long as nothing changed.
        if order.state != "issued" or order.txn_time != txn_time or order.amount_fen != amount:
            raise _Refusal(DUPLICATE, "重复交易")
        if access == "app" and order.tn is None:
            order.tn, order.access = _tn(), "app"
            await self.session.flush()
        return order

    async def _query(self, fields: dict[str, str]) -> dict[str, str]:
        order_id, txn_time = fields["orderId"], fields["txnTime"]
        order = await self._order(order_id)
        if order is not None and order.txn_time == txn_time and order.state == "paid":
            return {**self._consume_fields(order), "origRespCode": SUCCESS, "origRespMsg": SUCCESS_MESSAGE}
        refund: SandboxUnionPayRefund | None = await self.session.scalar(
            select(SandboxUnionPayRefund).where(
                SandboxUnionPayRefund.merchant_id == self.merchant_id,
                SandboxUnionPayRefund.order_id == order_id,
                SandboxUnionPayRefund.txn_time == txn_time,
            )
        )
        if refund is None:
            raise _Refusal(NOT_FOUND, "查无此交易")
        return self._refund_fields(refund)

    async def _refund(self, fields: dict[str, str]) -> dict[str, str]:
        try:
            amount = parse_amount(fields.get("txnAmt"))
        except ValueError:
            raise _Refusal("10", "报文格式错误[txnAmt]") from None
        if not fields.get("backUrl") or not fields.get("origQryId"):
            raise _Refusal("13", "报文交易要素缺失[origQryId/backUrl]")
        order_id, txn_time = fields["orderId"], fields["txnTime"]
        existing: SandboxUnionPayRefund | None = await self.session.scalar(
            select(SandboxUnionPayRefund).where(
                SandboxUnionPayRefund.merchant_id == self.merchant_id,
                SandboxUnionPayRefund.order_id == order_id,
            )
        )
        if existing is not None:
            raise _Refusal(DUPLICATE, "重复交易")
        consume: SandboxUnionPayOrder | None = await self.session.scalar(
            select(SandboxUnionPayOrder).where(
                SandboxUnionPayOrder.merchant_id == self.merchant_id,
                SandboxUnionPayOrder.query_id == fields["origQryId"],
            )
        )
        if consume is None or consume.state != "paid" or consume.paid_fen is None:
            raise _Refusal("35", "原交易不存在或状态不正确")
        if amount <= 0 or consume.refunded_fen + amount > consume.paid_fen:
            raise _Refusal("35", "原交易不存在或状态不正确[累计退货金额超过原交易金额]")
        moment = now()
        refund = SandboxUnionPayRefund(
            merchant_id=self.merchant_id,
            order_id=order_id,
            txn_time=txn_time,
            consume_id=consume.id,
            original_query_id=fields["origQryId"],
            amount_fen=amount,
            back_url=fields["backUrl"],
            query_id=_query_id(moment),
            trace_no=f"{secrets.randbelow(10**6):06d}",
            trace_time=moment.astimezone(UNIONPAY_ZONE).strftime("%m%d%H%M%S"),
            settle_date=settlement_day(moment).strftime("%m%d"),
            refunded_at=moment,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(refund)
                await self.session.flush()
                # Decided in one statement, so that two refunds racing cannot exceed the payment.
                result = await self.session.execute(
                    update(SandboxUnionPayOrder)
                    .where(
                        SandboxUnionPayOrder.id == consume.id,
                        SandboxUnionPayOrder.refunded_fen + amount <= SandboxUnionPayOrder.paid_fen,
                    )
                    .values(refunded_fen=SandboxUnionPayOrder.refunded_fen + amount, updated_at=moment)
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], result).rowcount != 1:
                    raise _Refusal("35", "原交易不存在或状态不正确[累计退货金额超过原交易金额]")
        except IntegrityError:
            raise _Refusal(DUPLICATE, "重复交易") from None
        await self._notify(refund.back_url, self._refund_fields(refund))
        return {"queryId": refund.query_id, "origQryId": refund.original_query_id, "txnAmt": str(amount)}

    async def _file(self, fields: dict[str, str]) -> dict[str, str]:
        text = fields.get("settleDate", "")
        if fields.get("fileType") != "00" or len(text) != 4 or not text.isdigit():
            raise _Refusal("10", "报文格式错误[settleDate/fileType]")
        day = _latest_day(text, now())
        if day is None or day >= settlement_day(now()):
            raise _Refusal(FILE_MISSING, "文件不存在")
        end = datetime.combine(day, SETTLEMENT_CUTOFF, tzinfo=UNIONPAY_ZONE)
        start = end - timedelta(days=1)
        lines: list[dict[str, str]] = []
        orders = (
            await self.session.scalars(
                select(SandboxUnionPayOrder)
                .where(
                    SandboxUnionPayOrder.merchant_id == self.merchant_id,
                    SandboxUnionPayOrder.paid_at >= start,
                    SandboxUnionPayOrder.paid_at < end,
                )
                .order_by(SandboxUnionPayOrder.paid_at)
            )
        ).all()
        for order in orders:
            lines.append(self._zm_consume(order))
        refunds = (
            await self.session.execute(
                select(SandboxUnionPayRefund, SandboxUnionPayOrder)
                .join(SandboxUnionPayOrder, SandboxUnionPayOrder.id == SandboxUnionPayRefund.consume_id)
                .where(
                    SandboxUnionPayRefund.merchant_id == self.merchant_id,
                    SandboxUnionPayRefund.refunded_at >= start,
                    SandboxUnionPayRefund.refunded_at < end,
                )
                .order_by(SandboxUnionPayRefund.refunded_at)
            )
        ).all()
        for refund, consume in refunds:
            lines.append(self._zm_refund(refund, consume))
        content = build_zip(self.merchant_id, day, lines)
        return {
            "settleDate": text,
            "fileType": "00",
            "fileName": zip_name(self.merchant_id, day),
            # UnionPay deflates (zlib) then base64-encodes the zip.
            "fileContent": base64.b64encode(zlib.compress(content)).decode("ascii"),
        }

    # ------------------------------------------------------------------ what UnionPay says

    def _consume_fields(self, order: SandboxUnionPayOrder) -> dict[str, str]:
        amount = str(order.paid_fen if order.paid_fen is not None else order.amount_fen)
        fields = {
            "bizType": "000201",
            "txnType": CONSUME,
            "txnSubType": "01",
            "orderId": order.order_id,
            "txnTime": order.txn_time,
            "txnAmt": amount,
            "currencyCode": CURRENCY,
            "queryId": order.query_id or "",
            "traceNo": order.trace_no or "",
            "traceTime": order.trace_time or "",
            "settleAmt": amount,
            "settleCurrencyCode": CURRENCY,
            "settleDate": order.settle_date or "",
            "accNo": order.card_number or "",
            "payCardType": "01",
            "payType": "0001",
        }
        return fields

    def _refund_fields(self, refund: SandboxUnionPayRefund) -> dict[str, str]:
        return {
            "bizType": "000201",
            "txnType": REFUND,
            "txnSubType": "00",
            "orderId": refund.order_id,
            "txnTime": refund.txn_time,
            "txnAmt": str(refund.amount_fen),
            "currencyCode": CURRENCY,
            "queryId": refund.query_id,
            "origQryId": refund.original_query_id,
            "traceNo": refund.trace_no,
            "traceTime": refund.trace_time,
            "settleAmt": str(refund.amount_fen),
            "settleCurrencyCode": CURRENCY,
            "settleDate": refund.settle_date,
            "origRespCode": SUCCESS,
            "origRespMsg": SUCCESS_MESSAGE,
        }

    def _zm_consume(self, order: SandboxUnionPayOrder) -> dict[str, str]:
        paid = order.paid_fen or 0
        return {
            "交易代码": CODES[CONSUME],
            "系统跟踪号": order.trace_no or "",
            "交易传输时间": order.trace_time or "",
            "帐号": order.card_number or "",
            "交易金额": amount_field(paid),
            "查询流水号": order.query_id or "",
            "商户订单号": order.order_id,
            "支付卡类型": "01",
            "商户手续费": signed_field(0),
            "结算金额": signed_field(paid),
            "交易类型": CONSUME,
            "交易子类": "01",
            "业务类型": "000201",
            "商户代码": self.merchant_id,
            "清算净额": signed_field(paid),
        }

    def _zm_refund(self, refund: SandboxUnionPayRefund, consume: SandboxUnionPayOrder) -> dict[str, str]:
        return {
            "交易代码": CODES[REFUND],
            "系统跟踪号": refund.trace_no,
            "交易传输时间": refund.trace_time,
            "帐号": consume.card_number or "",
            "交易金额": amount_field(refund.amount_fen),
            "查询流水号": refund.query_id,
            "商户订单号": refund.order_id,
            "支付卡类型": "01",
            "原始交易的系统跟踪号": consume.trace_no or "",
            "原始交易日期时间": consume.trace_time or "",
            "商户手续费": signed_field(0),
            "结算金额": signed_field(-refund.amount_fen),
            "交易类型": REFUND,
            "交易子类": "00",
            "业务类型": "000201",
            "原交易查询流水号": refund.original_query_id,
            "商户代码": self.merchant_id,
            "清算净额": signed_field(-refund.amount_fen),
            "原始交易订单号": consume.order_id,
        }

    async def _order(self, order_id: str) -> SandboxUnionPayOrder | None:
        order: SandboxUnionPayOrder | None = await self.session.scalar(
            select(SandboxUnionPayOrder).where(
                SandboxUnionPayOrder.merchant_id == self.merchant_id,
                SandboxUnionPayOrder.order_id == order_id,
            )
        )
        return order

    # ------------------------------------------------------------------ signed messages

    def _signed(self, fields: dict[str, str]) -> dict[str, str]:
        signed = {name: value for name, value in fields.items() if value != ""}
        signed.update(signMethod=SIGN_METHOD, signPubKeyCert=self.certificate_pem)
        signed[signing.SIGNATURE] = signing.sign(self.pki.unionpay_key, signed)
        return signed

    def _answer(self, request: dict[str, str], fields: dict[str, str]) -> httpx.Response:
        echoed = ("version", "encoding", "bizType", "txnType", "txnSubType", "accessType", "merId", "orderId")
        answer = {name: request[name] for name in (*echoed, "txnTime") if request.get(name)}
        answer.update(fields)
        signed = self._signed(answer)
        # UnionPay writes its answer as raw k=v pairs, without URL encoding.
        body = "&".join(f"{name}={value}" for name, value in signed.items())
        return httpx.Response(
            200, content=body.encode("utf-8"), headers={"Content-Type": "text/plain;charset=UTF-8"}
        )

    async def _notify(self, back_url: str, fields: dict[str, str]) -> None:
        if control.drop_notifications:
            return
        fields = {
            name: value for name, value in fields.items() if name not in ("origRespCode", "origRespMsg")
        }
        message = self._signed(
            {
                "version": VERSION,
                "encoding": "UTF-8",
                "accessType": "0",
                "merId": self.merchant_id,
                "respCode": SUCCESS,
                "respMsg": SUCCESS_MESSAGE,
                **fields,
            }
        )
        base = (
            control.notification_delay
            if control.notification_delay is not None
            else timedelta(seconds=self.settings.notification_delay_seconds)
        )
        await courier.send_notification(
            self.session,
            courier.Delivery(url=back_url, headers=dict(FORM_HEADERS), body=urlencode(message).encode()),
            delay=control.next_delay(base),
            copies=control.notification_copies,
        )


def _latest_day(mmdd: str, moment: datetime) -> date | None:
    """The most recent date with month-day ``mmdd`` on or before ``moment``'s settlement day."""
    today = settlement_day(moment)
    for year in (today.year, today.year - 1):
        try:
            day = date(year, int(mmdd[:2]), int(mmdd[2:]))
        except ValueError:
            continue
        if day <= today:
            return day
    return None


def _query_id(moment: datetime) -> str:
    """21 digits, as UnionPay's: a date-time prefix then random digits."""
    prefix = moment.astimezone(UNIONPAY_ZONE).strftime("%y%m%d%H%M%S")
    return f"{prefix}{secrets.randbelow(10**9):09d}"


def _tn() -> str:
    return f"{secrets.randbelow(10**21):021d}"


def _page(order: SandboxUnionPayOrder) -> str:
    text = f"订单号 {order.order_id}，金额 ￥{order.amount_fen // 100}.{order.amount_fen % 100:02d}"
    return (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>银联在线支付（沙箱）</title>'
        f"<body><h1>银联在线支付（沙箱）</h1><p>{html.escape(text)}</p></body></html>"
    )


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ihos sandbox"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer_key: rsa.RSAPrivateKey,
    *,
    is_ca: bool,
) -> x509.Certificate:
    start = now() - timedelta(days=365)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
