"""The Alipay payment sandbox (支付宝支付沙箱): a fake OpenAPI gateway for the trade APIs.

The real channel (``AlipayPayChannel``, i.e. python-alipay-sdk) talks to it through an in-process
transport, and it answers as Alipay does: it checks the common parameters and verifies the request's
RSA2 signature with the app public key, answers in Alipay's JSON shapes with its sub_codes
(``ACQ.TRADE_NOT_EXIST``, ``ACQ.REFUND_AMT_NOT_EQUAL_TOTAL``…), and signs every answer with its own
"Alipay" key, so that the SDK's response verification runs as in production.

It keeps a ledger (``sandbox_alipay_trades``, ``sandbox_alipay_refunds``): ``simulate_payment`` plays
the patient paying, and every change Alipay notifies (payment, refund, close) is sent as a signed form
POST to the trade's notify_url through the payment courier, after the caller's transaction commits.
``control`` makes it fail, time out, delay, duplicate, reorder or drop notifications, or pay another
amount than asked. The bill download serves the ledger in Alipay's trade bill format.

Expired unpaid trades are closed when next looked at, without a notification.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.alipay import signing
from ihos.integrations.alipay.sandbox import REQUIRED, TIMESTAMP_TOLERANCE, user_id_for
from ihos.integrations.payment import courier
from ihos.integrations.payment.alipay.client import (
    ALIPAY_ZONE,
    BILL_URL_QUERY,
    CLOSE,
    CREATE,
    ERROR_NODE,
    PRECREATE,
    QUERY,
    REFUND,
    REFUND_QUERY,
    WAP_PAY,
    beijing_text,
    parse_beijing,
    parse_fen,
)
from ihos.integrations.payment.alipay.settings import AlipayFailureMode, AlipayPaySandboxSettings
from ihos.integrations.payment.alipay.statement import PAYMENT, AlipayStatementLine, build_bill
from ihos.integrations.payment.alipay.statement import REFUND as REFUND_KIND
from ihos.integrations.payment.base import ChannelError
from ihos.kit.money import InvalidAmount, fen_to_yuan
from ihos.kit.time import now
from ihos.models.sandbox_alipay_unionpay import SandboxAlipayRefund, SandboxAlipayTrade

BILL_HOST = "dwbillcenter.alipay.sandbox.ihos.invalid"
QR_BASE = "https://qr.alipay.sandbox.ihos.invalid/"
BILL_URL_LIFETIME = timedelta(seconds=30)
# Each reordered notification is due this much sooner than the one before it.
REORDER_SPAN = timedelta(minutes=1)
REORDER_STEP = timedelta(seconds=1)
MAX_TOTAL_FEN = 100_000_000_00  # Alipay's ceiling: 100,000,000.00 yuan
SERVER_METHODS = (CREATE, PRECREATE, QUERY, CLOSE, REFUND, REFUND_QUERY, BILL_URL_QUERY)
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
TRADE_SUCCESS = "TRADE_SUCCESS"
TRADE_CLOSED = "TRADE_CLOSED"
TRADE_FINISHED = "TRADE_FINISHED"


class SandboxPaymentError(Exception):
    """``simulate_payment`` cannot pay: no such trade, or not waiting for payment."""


@dataclass(frozen=True)
class SandboxPayment:
    order_number: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime


class AlipayPaySandboxControl:
    """Run-time switches of the sandbox, for tests and demos; ``reset()`` puts everything back."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # Wins over the setting when set.
        self.failure_mode: AlipayFailureMode | None = None
        # Wins over the setting when set.
        self.notification_delay: timedelta | None = None
        # Every notification is delivered this many times (Alipay resends; receivers must cope).
        self.notification_copies = 1
        # Notifications are not sent at all (lost): only an active query finds the payment.
        self.drop_notifications = False
        # Each notification is due sooner than the one sent before it, so later events arrive first.
        self.reorder_notifications = False
        # The next payments pay this amount instead of the trade's.
        self.paid_amount_fen: int | None = None
        self._reordered = 0

    @contextmanager
    def failing(self, mode: AlipayFailureMode) -> Iterator[None]:
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


control = AlipayPaySandboxControl()


def seller_id_for(app_id: str) -> str:
    """The merchant's 2088… partner id (PID), stable per app."""
    return user_id_for(f"seller:{app_id}")


class _Refusal(Exception):
    def __init__(self, sub_code: str, sub_msg: str) -> None:
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        super().__init__(sub_code)


class AlipayPaySandbox:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: AlipayPaySandboxSettings,
        app_id: str,
        app_public_key: rsa.RSAPublicKey,
        alipay_private_key: rsa.RSAPrivateKey,
    ) -> None:
        self.session = session
        self.settings = settings
        self.app_id = app_id
        self.app_public_key = app_public_key
        self.alipay_private_key = alipay_private_key
        self.seller_id = seller_id_for(app_id)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # ------------------------------------------------------------------ the patient's side

    async def register_cashier(self, url: str) -> None:
        """A wap.pay cashier link was handed to a patient: remember it, unopened (Alipay learns of the
        trade only when it is opened, so queries still answer ACQ.TRADE_NOT_EXIST)."""
        try:
            await self._cashier_trade(url, opened=False)
        except _Refusal as refusal:
            # Surfaced to the channel's caller as Alipay would show it on the cashier page.
            raise ChannelError(refusal.sub_code, refusal.sub_msg, retryable=False) from None

    async def open_cashier(self, url: str) -> str:
        """The patient's browser opening a wap.pay link: the cashier page (HTML)."""
        try:
            trade = await self._cashier_trade(url, opened=True)
        except _Refusal as refusal:
            return _page("支付宝（沙箱）", f"无法支付：{refusal.sub_msg}（{refusal.sub_code}）")
        return _page(
            "支付宝（沙箱）",
            f"{trade.subject}：￥{fen_to_yuan(trade.total_fen)}，订单号 {trade.out_trade_no}",
        )

    async def simulate_payment(self, order_number: str, *, buyer_hint: str | None = None) -> SandboxPayment:
        """The patient pays ``order_number``: the ledger records it and the notification is queued."""
        trade = await self._trade_by(out_trade_no=order_number)
        if trade is None:
            raise SandboxPaymentError(f"no sandbox trade {order_number}")
        await self._expire(trade)
        if trade.status != WAIT_BUYER_PAY:
            raise SandboxPaymentError(f"trade {order_number} is {trade.status}")
        amount = control.paid_amount_fen if control.paid_amount_fen is not None else trade.total_fen
        moment = now()
        buyer = trade.buyer_id or user_id_for(buyer_hint or "sandbox-buyer")
        result = await self.session.execute(
            update(SandboxAlipayTrade)
            .where(SandboxAlipayTrade.id == trade.id, SandboxAlipayTrade.status == WAIT_BUYER_PAY)
            .values(
                status=TRADE_SUCCESS,
                paid_fen=amount,
                paid_at=moment,
                buyer_id=buyer,
                is_opened=True,
                updated_at=moment,
            )
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            raise SandboxPaymentError(f"trade {order_number} changed while paying")
        await self.session.refresh(trade)
        await self._notify(trade, self._trade_fields(trade))
        return SandboxPayment(
            order_number=order_number, transaction_id=trade.trade_no, amount_fen=amount, paid_at=moment
        )

    # ------------------------------------------------------------------ the gateway

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == BILL_HOST:
            return await self._bill_file(request)
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        if mode == "unavailable":
            return self._error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")
        params = dict(request.url.params)
        if request.method == "POST":
            params.update(parse_qsl((await request.aread()).decode(), keep_blank_values=True))
        if params.get("method") == WAP_PAY:
            return httpx.Response(200, text=await self.open_cashier(str(request.url)))
        refusal = self._check_request(params)
        if refusal is not None:
            return refusal
        method = params["method"]
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            return self._invalid("isv.invalid-biz-content", "biz_content参数格式不正确")
        if mode == "system_error":
            return self._fail(method, "ACQ.SYSTEM_ERROR", "系统错误")
        try:
            node = await self._dispatch(method, params, biz)
        except _Refusal as refused:
            return self._fail(method, refused.sub_code, refused.sub_msg)
        return self._signed(_node_name(method), {"code": "10000", "msg": "Success", **node})

    async def _dispatch(self, method: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        if method in (CREATE, PRECREATE):
            return await self._create(method, params, biz)
        if method == QUERY:
            return await self._query(biz)
        if method == CLOSE:
            return await self._close(biz)
        if method == REFUND:
            return await self._refund(biz)
        if method == REFUND_QUERY:
            return await self._refund_query(biz)
        return self._bill_url(biz)

    def _check_request(self, params: dict[str, str]) -> httpx.Response | None:
        for name, sub_code in REQUIRED.items():
            if not params.get(name):
                return self._error("40001", "Missing Required Arguments", sub_code, f"缺少参数{name}")
        if params["app_id"] != self.app_id:
            return self._invalid("isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != "RSA2":
            return self._invalid("isv.invalid-signature-type", "无效的签名类型")
        if not signing.verify(self.app_public_key, signing.signing_string(params), params["sign"]):
            return self._invalid("isv.invalid-signature", "验签出错")
        try:
            sent = parse_beijing(params["timestamp"])
        except ValueError:
            sent = None
        if sent is None or abs(now() - sent) > TIMESTAMP_TOLERANCE:
            return self._invalid("isv.invalid-timestamp", "非法的时间戳参数")
        if params["method"] not in SERVER_METHODS:
            return self._invalid("isv.invalid-method", "不存在的方法名")
        return None

    # ------------------------------------------------------------------ trade APIs

    async def _create(self, method: str, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        buyer = biz.get("buyer_id") or biz.get("buyer_open_id")
        if method == CREATE and not buyer:
            raise _Refusal("ACQ.INVALID_PARAMETER", "buyer_id和buyer_open_id不能同时为空")
        trade = await self._upsert_trade(
            method, biz, notify_url=params.get("notify_url"), buyer=buyer, opened=True
        )
        node: dict[str, Any] = {"out_trade_no": trade.out_trade_no}
        if method == CREATE:
            node["trade_no"] = trade.trade_no
        else:
            node["qr_code"] = QR_BASE + trade.trade_no[-16:]
        return node

    async def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._visible_trade(biz)
        await self._expire(trade)
        node = self._trade_fields(trade)
        return {
            key: node[key]
            for key in (
                "trade_no",
                "out_trade_no",
                "buyer_logon_id",
                "buyer_user_id",
                "trade_status",
                "total_amount",
                "receipt_amount",
                "buyer_pay_amount",
                "point_amount",
                "invoice_amount",
                "send_pay_date",
            )
            if key in node
        }

    async def _close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._visible_trade(biz)
        await self._expire(trade)
        moment = now()
        result = await self.session.execute(
            update(SandboxAlipayTrade)
            .where(SandboxAlipayTrade.id == trade.id, SandboxAlipayTrade.status == WAIT_BUYER_PAY)
            .values(status=TRADE_CLOSED, closed_at=moment, updated_at=moment)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            raise _Refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        await self.session.refresh(trade)
        await self._notify(trade, self._trade_fields(trade))
        return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    async def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._visible_trade(biz)
        out_request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        try:
            amount = parse_fen(biz.get("refund_amount"))
        except InvalidAmount:
            raise _Refusal("ACQ.INVALID_PARAMETER", "参数无效") from None
        reason = str(biz.get("refund_reason") or "")[:256]
        existing = await self._refund_row(trade, out_request_no)
        if existing is None:
            self._check_refundable(trade, amount)
            moment = now()
            try:
                async with self.session.begin_nested():
                    self.session.add(
                        SandboxAlipayRefund(
                            trade_id=trade.id,
                            out_request_no=out_request_no,
                            amount_fen=amount,
                            reason=reason,
                            refunded_at=moment,
                        )
                    )
                    await self.session.flush()
                    # Decided in one statement, so that two refunds racing cannot exceed the payment.
                    result = await self.session.execute(
                        update(SandboxAlipayTrade)
                        .where(
                            SandboxAlipayTrade.id == trade.id,
                            SandboxAlipayTrade.refunded_fen + amount <= SandboxAlipayTrade.paid_fen,
                        )
                        .values(refunded_fen=SandboxAlipayTrade.refunded_fen + amount, updated_at=moment)
                        .execution_options(synchronize_session=False)
                    )
                    if cast(CursorResult[Any], result).rowcount != 1:
                        raise _Refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            except IntegrityError:
                existing = await self._refund_row(trade, out_request_no)
            else:
                await self.session.refresh(trade)
                if trade.refunded_fen == trade.paid_fen:
                    trade.status, trade.closed_at = TRADE_CLOSED, moment
                    await self.session.flush()
                refund = await self._refund_row(trade, out_request_no)
                if refund is None:  # pragma: no cover - written just above in this transaction
                    raise _Refusal("ACQ.SYSTEM_ERROR", "系统错误")
                await self._notify(
                    trade,
                    {
                        **self._trade_fields(trade),
                        "out_biz_no": out_request_no,
                        "refund_fee": fen_to_yuan(trade.refunded_fen),
                        "gmt_refund": _millis_text(refund.refunded_at),
                    },
                )
                return self._refund_answer(trade, refund, fund_change="Y")
        if existing is None or existing.amount_fen != amount:
            raise _Refusal("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
        await self.session.refresh(trade)
        # The same refund again: Alipay answers success without moving money.
        return self._refund_answer(trade, existing, fund_change="N")

    def _check_refundable(self, trade: SandboxAlipayTrade, amount: int) -> None:
        if trade.status == TRADE_FINISHED:
            raise _Refusal("ACQ.TRADE_HAS_FINISHED", "交易已完结")
        if trade.paid_fen is None:
            raise _Refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if amount <= 0:
            raise _Refusal("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效")
        if trade.refunded_fen + amount > trade.paid_fen:
            raise _Refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")

    def _refund_answer(
        self, trade: SandboxAlipayTrade, refund: SandboxAlipayRefund, *, fund_change: str
    ) -> dict[str, Any]:
        return {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": _logon_id(trade.buyer_id),
            "buyer_user_id": trade.buyer_id,
            "fund_change": fund_change,
            # Alipay's refund_fee here is the trade's total refunded so far, not this refund's amount.
            "refund_fee": fen_to_yuan(trade.refunded_fen),
            "gmt_refund_pay": beijing_text(refund.refunded_at),
        }

    async def _refund_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._visible_trade(biz)
        out_request_no = str(biz.get("out_request_no") or "")
        if not out_request_no:
            raise _Refusal("ACQ.INVALID_PARAMETER", "参数无效")
        refund = await self._refund_row(trade, out_request_no)
        if refund is None:
            # Alipay: no refund data at all means no refund was made under that number.
            return {}
        node: dict[str, Any] = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_request_no": out_request_no,
            "total_amount": fen_to_yuan(trade.paid_fen or trade.total_fen),
            "refund_amount": fen_to_yuan(refund.amount_fen),
            "refund_status": "REFUND_SUCCESS",
        }
        options = biz.get("query_options")
        if isinstance(options, list) and "gmt_refund_pay" in options:
            node["gmt_refund_pay"] = _millis_text(refund.refunded_at)
        return node

    def _bill_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        if biz.get("bill_type") not in ("trade", "signcustomer"):
            raise _Refusal("isv.invalid-bill-type", "账单类型不正确")
        try:
            day = date.fromisoformat(str(biz.get("bill_date")))
        except ValueError:
            raise _Refusal("isv.invalid-bill-date", "账单时间格式不正确") from None
        if day >= now().astimezone(ALIPAY_ZONE).date():
            raise _Refusal("isp.bill_not_exist", "账单不存在")
        stamp = day.strftime("%Y%m%d")
        query = urlencode(
            {
                "bizType": biz["bill_type"],
                "userId": self.seller_id,
                "fileType": "csv.zip",
                "bizDates": stamp,
                "downloadFileName": f"{self.seller_id}_{stamp}.csv.zip",
                "fileId": secrets.token_hex(12),
                "timestamp": str(int(now().timestamp())),
            }
        )
        return {"bill_download_url": f"https://{BILL_HOST}/downloadBillFile.resource?{query}"}

    async def _bill_file(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            issued = datetime.fromtimestamp(int(params.get("timestamp", "")), tz=ALIPAY_ZONE)
            day = datetime.strptime(params.get("bizDates", ""), "%Y%m%d").replace(tzinfo=ALIPAY_ZONE).date()
        except ValueError:
            return httpx.Response(404, text="Not Found")
        if params.get("userId") != self.seller_id or now() - issued > BILL_URL_LIFETIME:
            # Alipay's download links last 30 seconds.
            return httpx.Response(404, text="Not Found")
        start = datetime.combine(day, time.min, tzinfo=ALIPAY_ZONE)
        end = start + timedelta(days=1)
        lines: list[AlipayStatementLine] = []
        trades = (
            await self.session.scalars(
                select(SandboxAlipayTrade)
                .where(
                    SandboxAlipayTrade.app_id == self.app_id,
                    SandboxAlipayTrade.paid_at >= start,
                    SandboxAlipayTrade.paid_at < end,
                )
                .order_by(SandboxAlipayTrade.paid_at)
            )
        ).all()
        for trade in trades:
            lines.append(self._bill_line(trade, PAYMENT, trade.paid_fen or 0, trade.paid_at, ""))
        refunds = (
            await self.session.execute(
                select(SandboxAlipayRefund, SandboxAlipayTrade)
                .join(SandboxAlipayTrade, SandboxAlipayTrade.id == SandboxAlipayRefund.trade_id)
                .where(
                    SandboxAlipayTrade.app_id == self.app_id,
                    SandboxAlipayRefund.refunded_at >= start,
                    SandboxAlipayRefund.refunded_at < end,
                )
                .order_by(SandboxAlipayRefund.refunded_at)
            )
        ).all()
        for refund, trade in refunds:
            lines.append(
                self._bill_line(
                    trade, REFUND_KIND, -refund.amount_fen, refund.refunded_at, refund.out_request_no
                )
            )
        content = build_bill(self.seller_id, day, lines, exported_at=now().astimezone(ALIPAY_ZONE))
        return httpx.Response(200, content=content, headers={"Content-Type": "application/zip"})

    def _bill_line(
        self, trade: SandboxAlipayTrade, kind: str, received: int, at: datetime | None, refund_number: str
    ) -> AlipayStatementLine:
        return AlipayStatementLine(
            transaction_id=trade.trade_no,
            order_number=trade.out_trade_no,
            kind=kind,
            subject=trade.subject,
            created_at=trade.created_at,
            finished_at=at,
            counterpart=_logon_id(trade.buyer_id),
            order_amount_fen=trade.paid_fen or trade.total_fen,
            received_fen=received,
            refund_number=refund_number,
            fee_fen=0,
            fields={},
        )

    # ------------------------------------------------------------------ the ledger

    async def _cashier_trade(self, url: str, *, opened: bool) -> SandboxAlipayTrade:
        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        if params.get("app_id") != self.app_id or params.get("method") != WAP_PAY:
            raise _Refusal("isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2" or not signing.verify(
            self.app_public_key, signing.signing_string(params), params.get("sign", "")
        ):
            raise _Refusal("isv.invalid-signature", "验签出错")
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            raise _Refusal("isv.invalid-biz-content", "biz_content参数格式不正确")
        return await self._upsert_trade(
            WAP_PAY, biz, notify_url=params.get("notify_url"), buyer=None, opened=opened
        )

    async def _upsert_trade(
        self, method: str, biz: dict[str, Any], *, notify_url: str | None, buyer: str | None, opened: bool
    ) -> SandboxAlipayTrade:
        out_trade_no = str(biz.get("out_trade_no") or "")
        subject = str(biz.get("subject") or "")
        if not out_trade_no or len(out_trade_no) > 64 or not subject:
            raise _Refusal("ACQ.INVALID_PARAMETER", "参数无效")
        try:
            total = parse_fen(biz.get("total_amount"))
        except InvalidAmount:
            raise _Refusal("ACQ.INVALID_PARAMETER", "参数无效") from None
        if total <= 0:
            raise _Refusal("ACQ.INVALID_PARAMETER", "参数无效")
        if total > MAX_TOTAL_FEN:
            raise _Refusal("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额")
        try:
            time_expire = parse_beijing(str(biz["time_expire"])) if biz.get("time_expire") else None
        except ValueError:
            raise _Refusal("ACQ.INVALID_PARAMETER", "time_expire参数格式不正确") from None
        trade = await self._trade_by(out_trade_no=out_trade_no)
        if trade is None:
            candidate = SandboxAlipayTrade(
                app_id=self.app_id,
                out_trade_no=out_trade_no,
                trade_no=_trade_no(),
                method=method,
                subject=subject[:256],
                total_fen=total,
                status=WAIT_BUYER_PAY,
                is_opened=opened,
                buyer_id=buyer,
                notify_url=notify_url,
                time_expire=time_expire,
                refunded_fen=0,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(candidate)
                    await self.session.flush()
                return candidate
            except IntegrityError:
                trade = await self._trade_by(out_trade_no=out_trade_no)
                if trade is None:  # pragma: no cover - the conflicting row is committed
                    raise _Refusal("ACQ.SYSTEM_ERROR", "系统错误") from None
        await self._expire(trade)
        if trade.status in (TRADE_SUCCESS, TRADE_FINISHED):
            raise _Refusal("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if trade.status == TRADE_CLOSED:
            raise _Refusal("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if trade.total_fen != total or (buyer and trade.buyer_id and trade.buyer_id != buyer):
            raise _Refusal("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        if opened and not trade.is_opened:
            trade.is_opened = True
            trade.buyer_id = trade.buyer_id or buyer
            await self.session.flush()
        return trade

    async def _trade_by(
        self, *, out_trade_no: str | None = None, trade_no: str | None = None
    ) -> SandboxAlipayTrade | None:
        query = select(SandboxAlipayTrade).where(SandboxAlipayTrade.app_id == self.app_id)
        if trade_no:
            query = query.where(SandboxAlipayTrade.trade_no == trade_no)
        else:
            query = query.where(SandboxAlipayTrade.out_trade_no == (out_trade_no or ""))
        trade: SandboxAlipayTrade | None = await self.session.scalar(query)
        return trade

    async def _visible_trade(self, biz: dict[str, Any]) -> SandboxAlipayTrade:
        """The trade named by trade_no (which wins) or out_trade_no, as Alipay sees it."""
        trade_no = biz.get("trade_no")
        out_trade_no = biz.get("out_trade_no")
        if not trade_no and not out_trade_no:
            raise _Refusal("ACQ.INVALID_PARAMETER", "参数无效")
        trade = await self._trade_by(
            out_trade_no=str(out_trade_no) if out_trade_no else None,
            trade_no=str(trade_no) if trade_no else None,
        )
        if trade is None or not trade.is_opened:
            raise _Refusal("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    async def _refund_row(self, trade: SandboxAlipayTrade, out_request_no: str) -> SandboxAlipayRefund | None:
        refund: SandboxAlipayRefund | None = await self.session.scalar(
            select(SandboxAlipayRefund).where(
                SandboxAlipayRefund.trade_id == trade.id, SandboxAlipayRefund.out_request_no == out_request_no
            )
        )
        return refund

    async def _expire(self, trade: SandboxAlipayTrade) -> None:
        if trade.status != WAIT_BUYER_PAY or trade.time_expire is None or trade.time_expire > now():
            return
        await self.session.execute(
            update(SandboxAlipayTrade)
            .where(SandboxAlipayTrade.id == trade.id, SandboxAlipayTrade.status == WAIT_BUYER_PAY)
            .values(status=TRADE_CLOSED, closed_at=trade.time_expire, updated_at=now())
            .execution_options(synchronize_session=False)
        )
        await self.session.refresh(trade)

    def _trade_fields(self, trade: SandboxAlipayTrade) -> dict[str, Any]:
        """What Alipay says about a trade in notifications and queries."""
        fields: dict[str, Any] = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "seller_id": self.seller_id,
            "subject": trade.subject,
            "gmt_create": beijing_text(trade.created_at),
            "total_amount": fen_to_yuan(trade.total_fen),
        }
        if trade.buyer_id:
            fields["buyer_id"] = trade.buyer_id
            fields["buyer_user_id"] = trade.buyer_id
            fields["buyer_logon_id"] = _logon_id(trade.buyer_id)
        if trade.paid_fen is not None and trade.paid_at is not None:
            paid = fen_to_yuan(trade.paid_fen)
            # A sandbox told to pay another amount reports that amount, so the mismatch is visible.
            fields.update(
                total_amount=paid,
                receipt_amount=paid,
                buyer_pay_amount=paid,
                invoice_amount=paid,
                point_amount="0.00",
                gmt_payment=beijing_text(trade.paid_at),
                send_pay_date=beijing_text(trade.paid_at),
                fund_bill_list=json.dumps(
                    [{"amount": paid, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
                ),
            )
        if trade.closed_at is not None:
            fields["gmt_close"] = beijing_text(trade.closed_at)
        return fields

    # ------------------------------------------------------------------ notifications

    async def _notify(self, trade: SandboxAlipayTrade, fields: dict[str, Any]) -> None:
        if control.drop_notifications or not trade.notify_url:
            return
        fields.pop("send_pay_date", None)
        fields.pop("buyer_user_id", None)
        params = {key: str(value) for key, value in fields.items() if value not in (None, "")}
        params.update(
            notify_type="trade_status_sync",
            notify_id=secrets.token_hex(17),
            notify_time=beijing_text(now()),
            app_id=self.app_id,
            auth_app_id=self.app_id,
            charset="utf-8",
            version="1.0",
            sign_type="RSA2",
        )
        # Alipay signs every parameter except sign and sign_type, sorted, values as sent.
        content = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key != "sign_type")
        params["sign"] = signing.sign(self.alipay_private_key, content)
        base = (
            control.notification_delay
            if control.notification_delay is not None
            else timedelta(seconds=self.settings.notification_delay_seconds)
        )
        await courier.send_notification(
            self.session,
            courier.Delivery(
                url=trade.notify_url, headers=dict(FORM_HEADERS), body=urlencode(params).encode()
            ),
            delay=control.next_delay(base),
            copies=control.notification_copies,
        )

    # ------------------------------------------------------------------ answers

    def _fail(self, method: str, sub_code: str, sub_msg: str) -> httpx.Response:
        node = {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}
        if sub_code == "ACQ.SYSTEM_ERROR":
            node.update(code="20000", msg="Service Currently Unavailable")
        return self._signed(_node_name(method), node)

    def _invalid(self, sub_code: str, sub_msg: str) -> httpx.Response:
        return self._error("40002", "Invalid Arguments", sub_code, sub_msg)

    def _error(self, code: str, msg: str, sub_code: str, sub_msg: str) -> httpx.Response:
        return self._signed(ERROR_NODE, {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg})

    def _signed(self, name: str, node: dict[str, Any]) -> httpx.Response:
        # The node text is written once and signed as written, as Alipay does.
        node_text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = signing.sign(self.alipay_private_key, node_text)
        body = f'{{"{name}":{node_text},"sign":"{signature}"}}'
        return httpx.Response(
            200, content=body.encode("utf-8"), headers={"Content-Type": "text/html;charset=utf-8"}
        )


def _node_name(method: str) -> str:
    return method.replace(".", "_") + "_response"


def _trade_no() -> str:
    """28 digits, as Alipay's: the Beijing date, a fixed channel part, then random digits."""
    stamp = now().astimezone(ALIPAY_ZONE).strftime("%Y%m%d")
    return f"{stamp}22001{secrets.randbelow(10**15):015d}"


def _logon_id(buyer_id: str | None) -> str:
    return f"{buyer_id[-4:]}***@sandbox.com" if buyer_id else ""


def _millis_text(moment: datetime) -> str:
    local = moment.astimezone(ALIPAY_ZONE)
    return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def _page(title: str, text: str) -> str:
    return (
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
