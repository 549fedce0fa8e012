"""The sandbox medical-insurance platform (医保移动支付沙箱): a fake mobile payment centre with a ledger.

It speaks the national envelope (``envelope``) to the real client through an in-process transport: it
checks the appId, the timestamp and the SM2 signature, decrypts the SM4 data and answers signed and
encrypted, with its own fixed "platform" key pair. Who is insured, under which scheme and with what
balance is ``insured.json``; the split follows ``rules``, counting what the person already used this
year in the ledger (``sandbox_insurance_orders``, ``sandbox_insurance_refunds``).

``simulate_payment(session, order_number)`` plays the patient confirming in the insurance app: the
order settles and the settlement notification goes to the order's notify URL through the courier.
In reality the cash part (``psn_cash_pay``) is paid through WeChat Pay in the same cashier; the sandbox
reports it settled together with the insurance parts.

Failing: ``control``/settings (unavailable, timeout, lost answer, delayed and duplicated
notifications), the insured people with a ``behaviour``, and ``simulate_payment(…, outcome="failed")``.
It never logs an ID number or a name.
"""

from __future__ import annotations

import base64
import csv
import hmac
import io
import json
import logging
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment import courier
from ihos.integrations.payment.insurance import envelope, rules
from ihos.integrations.payment.insurance.client import InsuranceConfig
from ihos.integrations.payment.insurance.envelope import EnvelopeError, Party, fen, yuan
from ihos.integrations.payment.insurance.settings import (
    InsuranceFailureMode,
    InsuranceSandboxSettings,
    InsuranceSettings,
)
from ihos.kit.ids import digits
from ihos.kit.time import local_now, now, start_of_local_day
from ihos.models.sandbox_hospital import SandboxInsuranceOrder, SandboxInsuranceRefund
from ihos.security.fields import blind_index
from ihos.security.gm import SM2PrivateKey, hmac_sm3, sm3

log = logging.getLogger(__name__)

# The sandbox's own channel. The address never resolves (.invalid): without the in-process transport a
# request fails instead of reaching anyone.
SANDBOX_ENDPOINT = "https://mbs.sandbox.ihos.invalid"
SANDBOX_APP_ID = "IHOSSANDBOXINSURANCE000000000001"
SANDBOX_APP_SECRET = "ihos-sandbox-insurance-app-secret"
SANDBOX_ORG_CODE = "H51010700001"
SANDBOX_ORG_NAME = "ihos互联网医院（沙箱）"
CASHIER_URL = SANDBOX_ENDPOINT + "/cashier"
STATEMENT_PATH = "/sandbox/statement"
TIMESTAMP_TOLERANCE = timedelta(minutes=5)
DEFAULT_ORDER_LIFETIME = timedelta(minutes=30)
# The interfaces that change something: a lost answer matters only for them.
ACTIONS = frozenset(envelope.PATHS[number] for number in ("6201", "6202", "6203", "6401"))
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9]{1,32}$")
# A payAuthNo the sandbox gave: "AUTH", when it expires (Unix seconds), and a MAC binding both to the person.
_AUTHORISATION = re.compile(r"^AUTH(\d{10})([0-9a-f]{24})$")
AUTHORISATION_LIFETIME = timedelta(minutes=30)
_REFUND_NUMBER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InsuranceSandboxError(Exception):
    """``simulate_payment`` asked for something the platform would not do (no such order, not payable)."""


@lru_cache
def sandbox_key(purpose: str) -> SM2PrivateKey:
    """The sandbox's fixed SM2 keys ("hospital", "platform"), derived from their purpose.

    Fixed rather than generated because the process that signs a notification and the one that
    verifies it need not be the same; a sandbox key protects nothing, so being public is harmless.
    """
    counter = 0
    while True:
        try:
            return SM2PrivateKey(sm3(f"ihos sandbox insurance {purpose} key {counter}".encode()))
        except ValueError:  # pragma: no cover - one chance in 2**128
            counter += 1


def hospital_party() -> Party:
    return Party(
        app_id=SANDBOX_APP_ID,
        app_secret=SANDBOX_APP_SECRET,
        signing_key=sandbox_key("hospital"),
        peer_key=sandbox_key("platform").public_key(),
    )


def platform_party() -> Party:
    return Party(
        app_id=SANDBOX_APP_ID,
        app_secret=SANDBOX_APP_SECRET,
        signing_key=sandbox_key("platform"),
        peer_key=sandbox_key("hospital").public_key(),
    )


def sandbox_config() -> InsuranceConfig:
    return InsuranceConfig(
        endpoint=SANDBOX_ENDPOINT,
        party=hospital_party(),
        org_code=SANDBOX_ORG_CODE,
        org_name=SANDBOX_ORG_NAME,
        statement_path=STATEMENT_PATH,
    )


class InsuranceSandboxControl:
    """Run-time switches; when set, each wins over its setting."""

    def __init__(self) -> None:
        self.failure_mode: InsuranceFailureMode | None = None
        self.notification_delay_seconds: int | None = None
        self.notification_copies: int | None = None

    @contextmanager
    def failing(self, mode: InsuranceFailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous

    def reset(self) -> None:
        self.failure_mode = self.notification_delay_seconds = self.notification_copies = None


control = InsuranceSandboxControl()


class _Refusal(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message


class _Unavailable(Exception):
    pass


def id_index(id_number: str) -> str:
    return blind_index(id_number, kind="id_number")


class InsuranceSandbox:
    """The fake centre. ``transport()`` plugs it under an ``InsuranceClient``; it writes its ledger in
    the caller's session (and transaction)."""

    def __init__(
        self, session: AsyncSession, *, settings: InsuranceSandboxSettings, party: Party | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.party = party or platform_party()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        if mode == "unavailable":
            return _unavailable()
        handlers = {
            envelope.PATHS["6201"]: self._upload,
            envelope.PATHS["6202"]: self._place,
            envelope.PATHS["6203"]: self._refund,
            envelope.PATHS["6301"]: self._query,
            envelope.PATHS["6401"]: self._revoke,
            STATEMENT_PATH: self._statement,
        }
        handler = handlers.get(request.url.path)
        if handler is None:
            return httpx.Response(404, json={"code": 404, "message": "not found"})
        try:
            data = self._authenticate(request.content)
            answer = await handler(data)
        except _Refusal as refusal:
            return self._reply(None, code=refusal.code, message=refusal.message)
        except _Unavailable:
            return _unavailable()
        if mode == "lost_answer" and request.url.path in ACTIONS:
            # The platform did the work; the answer never reaches the caller.
            await self.session.flush()
            raise httpx.ReadTimeout("sandbox: answer lost after acting", request=request)
        return self._reply(answer)

    def _authenticate(self, content: bytes) -> dict[str, Any]:
        try:
            message = json.loads(content)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise _Refusal(2001, "报文不是JSON对象")
        if message.get("appId") != self.party.app_id:
            raise _Refusal(1002, "渠道appId未开通")
        sent_at = envelope.parse_timestamp(message.get("timestamp"))
        if sent_at is None or abs(now() - sent_at) > TIMESTAMP_TOLERANCE:
            raise _Refusal(1003, "时间戳缺失或超出允许范围")
        try:
            data = envelope.open_envelope(self.party, message)
        except EnvelopeError as exc:
            code = 1004 if "decrypt" in exc.reason or "JSON" in exc.reason else 1001
            raise _Refusal(code, f"验签或解密失败: {exc.reason}") from None
        if data is None:
            raise _Refusal(2001, "缺少业务数据")
        return data

    def _reply(
        self, data: Mapping[str, Any] | None, *, code: int = 0, message: str = "成功"
    ) -> httpx.Response:
        sealed = envelope.seal(
            self.party,
            data,
            timestamp=envelope.timestamp_of(now()),
            outer={"code": code, "message": message, "success": code == 0},
        )
        return httpx.Response(
            200,
            content=json.dumps(sealed, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    # -- 6201 费用明细上传 -------------------------------------------------------------------------------

    async def _upload(self, data: dict[str, Any]) -> dict[str, Any]:
        self._check_org(data)
        order_number = _text(data, "medOrgOrd")
        if not _ORDER_NUMBER.match(order_number):
            raise _Refusal(2001, "medOrgOrd 应为不超过32位的字母和数字")
        id_number, name = _text(data, "idNo").upper(), _text(data, "userName")
        total = _yuan(data, "medfeeSumamt")
        details = data.get("feedetailList")
        if not isinstance(details, list) or not details:
            raise _Refusal(2001, "feedetailList 不能为空")
        lines: list[dict[str, Any]] = []
        for number, detail in enumerate(details, 1):
            if not isinstance(detail, dict):
                raise _Refusal(2001, "feedetailList 的每一项应为对象")
            code = _text(detail, "medListCodg")
            item_class = rules.classify(code)
            lines.append(
                {
                    "feedetl_sn": str(detail.get("feedetlSn") or number),
                    "code": code,
                    "name": str(detail.get("medListName") or ""),
                    "amount_fen": _yuan(detail, "detItemFeeSumamt"),
                    "class": item_class.name,
                    "preselfpay_percent": item_class.preselfpay_percent,
                }
            )
        if sum(line["amount_fen"] for line in lines) != total:
            raise _Refusal(3005, "费用明细金额之和与 medfeeSumamt 不符")
        person = rules.insured_people().get(id_number)
        if person is not None and person.behaviour == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout for this insured person")
        if person is not None and person.behaviour == "unavailable":
            raise _Unavailable
        if person is None:
            raise _Refusal(3001, "未查询到有效参保信息")
        if person.name != name.strip():
            raise _Refusal(3002, "参保人姓名与证件号码不符")
        self._check_authorisation(data, id_number)
        ext = _ext(data)
        notify_url = str(ext.get("notifyUrl") or "")
        if not notify_url.startswith(("http://", "https://")):
            raise _Refusal(2001, "沙箱需要 extData.notifyUrl")
        expires_at = envelope.parse_timestamp(ext.get("expireTime")) or now() + DEFAULT_ORDER_LIFETIME

        existing = await self._order_by_number(order_number)
        if existing is not None:
            same = existing.insured_index == id_index(id_number) and existing.total_fen == total
            if same and existing.state in ("saved", "presettled"):
                return _upload_answer(existing)
            raise _Refusal(3004, "医院订单号已使用")
        order = SandboxInsuranceOrder(
            pay_order_id=f"PO{local_now():%Y%m%d%H%M%S}{digits(8)}",
            pay_token=secrets.token_hex(16),
            order_number=order_number,
            settlement_id=None,
            insured_id_number=id_number,
            insured_index=id_index(id_number),
            person_number=person.person_number,
            medical_type=str(data.get("medType") or "11"),
            use_account=str(data.get("acctUsedFlag", "1")) != "0",
            lines=lines,
            total_fen=total,
            settlement={},
            state="saved",
            notify_url=notify_url,
            expires_at=expires_at,
        )
        self.session.add(order)
        await self.session.flush()
        return _upload_answer(order)

    # -- 6202 支付下单 -----------------------------------------------------------------------------------

    async def _place(self, data: dict[str, Any]) -> dict[str, Any]:
        self._check_org(data)
        order = await self._order_by_pay_id(data, require_token=True)
        await self._expire_if_due(order)
        if order.state == "presettled":
            return _place_answer(order)
        if order.state != "saved":
            raise _Refusal(3004, f"订单状态为 {order.state}，不能下单")
        person = rules.insured_people()[order.insured_id_number]
        usage = await self._usage(order.insured_index, excluding=order.pay_order_id)
        lines = [
            rules.ChargeLine(line["amount_fen"], rules.ItemClass(line["class"], line["preselfpay_percent"]))
            for line in order.lines
        ]
        settlement = rules.settle(person, lines, usage=usage, use_account=order.use_account)
        settlement_id = f"SETL{local_now():%Y%m%d}{digits(12)}"
        setlinfo: dict[str, Any] = {
            "setl_id": settlement_id,
            "mdtrt_id": f"MDTRT{local_now():%Y%m%d}{digits(10)}",
            "psn_no": order.person_number,
            "insutype": person.scheme.insurance_type,
            "psn_type": person.scheme.person_type,
            "med_type": order.medical_type,
            "fixmedins_code": SANDBOX_ORG_CODE,
            **{name: yuan(amount) for name, amount in settlement.amounts().items()},
        }
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(SandboxInsuranceOrder)
            .where(SandboxInsuranceOrder.id == order.id, SandboxInsuranceOrder.state == "saved")
            .values(
                state="presettled",
                settlement_id=settlement_id,
                settlement=setlinfo,
                fund_fen=settlement.fund_pay_sumamt,
                account_fen=settlement.acct_pay,
                cash_fen=settlement.psn_cash_pay,
                deductible_fen=settlement.act_pay_dedc,
                updated_at=now(),
            )
        )
        await self.session.refresh(order)
        if result.rowcount != 1 and order.state != "presettled":
            raise _Refusal(3004, "订单状态已变化")
        return _place_answer(order)

    # -- 6301 查询 ----------------------------------------------------------------------------------------

    async def _query(self, data: dict[str, Any]) -> dict[str, Any]:
        order = await self._order_named(data)
        await self._expire_if_due(order)
        return await self._status(order)

    # -- 6401 撤销 ----------------------------------------------------------------------------------------

    async def _revoke(self, data: dict[str, Any]) -> dict[str, Any]:
        order = await self._order_named(data)
        await self._expire_if_due(order)
        if order.state in ("saved", "presettled"):
            await self.session.execute(
                update(SandboxInsuranceOrder)
                .where(
                    SandboxInsuranceOrder.id == order.id,
                    SandboxInsuranceOrder.state.in_(("saved", "presettled")),
                )
                .values(state="closed", updated_at=now())
            )
            await self.session.refresh(order)
        if order.state != "closed":
            raise _Refusal(3004, "订单已结算，不能撤销，请退费")
        return {
            "payOrdId": order.pay_order_id,
            "medOrgOrd": order.order_number,
            "ordStas": _order_status(order),
        }

    # -- 6203 退费 ----------------------------------------------------------------------------------------

    async def _refund(self, data: dict[str, Any]) -> dict[str, Any]:
        order = await self._order_by_pay_id(data, require_token=False)
        refund_number = _text(data, "appRefdSn")
        if not _REFUND_NUMBER.match(refund_number):
            raise _Refusal(2001, "appRefdSn 格式不正确")
        kind = _text(data, "refdType").upper()
        total, cash = _yuan(data, "totlRefdAmt"), _yuan(data, "cashRefdAmt")
        account, fund = _yuan(data, "psnAcctRefdAmt", default=0), _yuan(data, "fundRefdAmt", default=0)
        if total <= 0 or cash + account + fund != total:
            raise _Refusal(3006, "退费金额之和与 totlRefdAmt 不符")
        existing = (
            await self.session.scalars(
                select(SandboxInsuranceRefund).where(SandboxInsuranceRefund.refund_number == refund_number)
            )
        ).one_or_none()
        if existing is not None:
            same = (existing.pay_order_id, existing.refund_type, existing.total_fen, existing.cash_fen) == (
                order.pay_order_id,
                kind,
                total,
                cash,
            )
            if not same:
                raise _Refusal(3006, "退费流水号已用于另一笔退费")
            return _refund_answer(existing)
        if order.state != "settled":
            raise _Refusal(3004, "订单未结算，不能退费")
        cash_left = order.cash_fen - order.cash_refunded_fen
        whole_insurance = (fund, account) == (
            order.fund_fen,
            order.account_fen,
        ) and not order.is_insurance_refunded
        if kind == "ALL":
            allowed = whole_insurance and cash == cash_left
        elif kind == "HI":
            allowed = whole_insurance and cash == 0
        elif kind == "CASH":
            allowed = fund == 0 and account == 0 and 0 < cash <= cash_left
        else:
            raise _Refusal(2001, "refdType 应为 ALL、CASH 或 HI")
        if not allowed:
            raise _Refusal(3006, "医保部分只能全额退回，现金部分不能超过未退金额")
        conditions = [
            SandboxInsuranceOrder.id == order.id,
            SandboxInsuranceOrder.cash_refunded_fen + cash <= SandboxInsuranceOrder.cash_fen,
        ]
        values: dict[str, Any] = {
            "cash_refunded_fen": SandboxInsuranceOrder.cash_refunded_fen + cash,
            "updated_at": now(),
        }
        if kind in ("ALL", "HI"):
            conditions.append(SandboxInsuranceOrder.is_insurance_refunded.is_(False))
            values.update(is_insurance_refunded=True, fund_refunded_fen=fund, account_refunded_fen=account)
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(SandboxInsuranceOrder).where(*conditions).values(**values)
        )
        if result.rowcount != 1:
            raise _Refusal(3006, "退费与另一笔退费冲突，请查询后重试")
        refund = SandboxInsuranceRefund(
            refund_number=refund_number,
            refund_id=f"RF{local_now():%Y%m%d%H%M%S}{digits(8)}",
            pay_order_id=order.pay_order_id,
            refund_type=kind,
            total_fen=total,
            fund_fen=fund,
            account_fen=account,
            cash_fen=cash,
            refunded_at=now(),
        )
        self.session.add(refund)
        await self.session.flush()
        await self.session.refresh(order)
        ext = _ext(data)
        notify_url = str(ext.get("notifyUrl") or order.notify_url)
        await _notify(
            self.session,
            notify_url,
            {**_refund_answer(refund), "callType": "REFD", "medOrgOrd": order.order_number},
            self.settings,
        )
        log.info("sandbox insurance refund %s of %s: %s fen", refund.refund_id, order.pay_order_id, total)
        return _refund_answer(refund)

    # -- statement (sandbox only) ---------------------------------------------------------------------

    async def _statement(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            day = datetime.strptime(_text(data, "stmtDate"), "%Y%m%d").date()  # noqa: DTZ007 - a date only
        except ValueError:
            raise _Refusal(2001, "stmtDate 应为 yyyyMMdd") from None
        content = await statement(self.session, day)
        return {"stmtDate": day.strftime("%Y%m%d"), "fileContent": base64.b64encode(content).decode("ascii")}

    # -- the ledger -----------------------------------------------------------------------------------

    def _check_authorisation(self, data: Mapping[str, Any], id_number: str) -> None:
        """The patient's authorisation (payAuthNo): one the sandbox gave for this person, still valid. The
        e-voucher as certificate (mdtrtCertType 01) needs it; so does every upload when so configured."""
        given = data.get("payAuthNo")
        if given in (None, ""):
            if data.get("mdtrtCertType") == "01" or self.settings.require_authorisation:
                raise _Refusal(3009, "线上支付须上传参保人的支付授权码 payAuthNo")
            return
        if not isinstance(given, str) or not authorisation_is_valid(given, id_number):
            raise _Refusal(3008, "payAuthNo 无效、已过期或不属于该参保人")

    def _check_org(self, data: Mapping[str, Any]) -> None:
        if data.get("orgCodg") != SANDBOX_ORG_CODE:
            raise _Refusal(2001, "orgCodg 与渠道登记的定点医药机构不符")

    async def _order_by_number(self, order_number: str) -> SandboxInsuranceOrder | None:
        return (
            await self.session.scalars(
                select(SandboxInsuranceOrder).where(SandboxInsuranceOrder.order_number == order_number)
            )
        ).one_or_none()

    async def _order_by_pay_id(
        self, data: Mapping[str, Any], *, require_token: bool
    ) -> SandboxInsuranceOrder:
        pay_order_id = _text(data, "payOrdId")
        order = (
            await self.session.scalars(
                select(SandboxInsuranceOrder).where(SandboxInsuranceOrder.pay_order_id == pay_order_id)
            )
        ).one_or_none()
        token = data.get("payToken")
        if order is None or ((require_token or token) and token != order.pay_token):
            raise _Refusal(3003, "订单不存在或 payToken 不符")
        return order

    async def _order_named(self, data: Mapping[str, Any]) -> SandboxInsuranceOrder:
        """6301 and 6401 name the order by payOrdId (+ payToken), or in the sandbox by medOrgOrd."""
        if data.get("payOrdId"):
            return await self._order_by_pay_id(data, require_token=False)
        order = await self._order_by_number(_text(data, "medOrgOrd"))
        if order is None:
            raise _Refusal(3003, "订单不存在")
        return order

    async def _expire_if_due(self, order: SandboxInsuranceOrder) -> None:
        if order.state in ("saved", "presettled") and now() >= order.expires_at:
            await self.session.execute(
                update(SandboxInsuranceOrder)
                .where(
                    SandboxInsuranceOrder.id == order.id,
                    SandboxInsuranceOrder.state.in_(("saved", "presettled")),
                )
                .values(state="closed", updated_at=now())
            )
            await self.session.refresh(order)

    async def _usage(self, insured_index: str, *, excluding: str) -> rules.Usage:
        """What the person used this year on the platform, besides the registry's opening figures:
        settled orders and pre-settled ones still waiting for the patient (they hold their share)."""
        year_start = start_of_local_day(date(local_now().year, 1, 1))
        orders = (
            await self.session.scalars(
                select(SandboxInsuranceOrder).where(
                    SandboxInsuranceOrder.insured_index == insured_index,
                    SandboxInsuranceOrder.state.in_(("presettled", "settled")),
                    SandboxInsuranceOrder.pay_order_id != excluding,
                    SandboxInsuranceOrder.created_at >= year_start,
                    SandboxInsuranceOrder.is_insurance_refunded.is_(False),
                )
            )
        ).all()
        current = now()
        holding = [o for o in orders if o.state == "settled" or o.expires_at > current]
        return rules.Usage(
            account_spent_fen=sum(o.account_fen for o in holding),
            deductible_paid_fen=sum(o.deductible_fen for o in holding),
            fund_paid_fen=sum(o.fund_fen for o in holding),
        )

    async def _status(self, order: SandboxInsuranceOrder) -> dict[str, Any]:
        refunds = (
            await self.session.scalars(
                select(SandboxInsuranceRefund)
                .where(SandboxInsuranceRefund.pay_order_id == order.pay_order_id)
                .order_by(SandboxInsuranceRefund.refunded_at)
            )
        ).all()
        return settlement_message(order, refunds=refunds)


def _unavailable() -> httpx.Response:
    return httpx.Response(503, json={"code": 9999, "message": "医保移动支付中心系统繁忙"})


def _ext(data: Mapping[str, Any]) -> dict[str, Any]:
    ext = data.get("extData")
    return ext if isinstance(ext, dict) else {}


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _Refusal(2001, f"{name} 不能为空")
    return value.strip()


def _yuan(data: Mapping[str, Any], name: str, *, default: int | None = None) -> int:
    if default is not None and data.get(name) in (None, ""):
        return default
    try:
        return fen(data.get(name))
    except ValueError:
        raise _Refusal(2001, f"{name} 不是正确的金额") from None


def _order_status(order: SandboxInsuranceOrder) -> str:
    """The order's ordStas, in the national dictionary."""
    if order.state == "saved":
        return "0"
    if order.state == "presettled":
        return "1"
    if order.state == "closed":
        return "12"
    if order.state == "failed":
        return "15"
    cash_left = order.cash_fen - order.cash_refunded_fen
    if order.is_insurance_refunded:
        return "7" if cash_left == 0 else "8"
    if order.cash_refunded_fen == 0:
        return "6"
    return "9" if cash_left == 0 else "10"


def _upload_answer(order: SandboxInsuranceOrder) -> dict[str, Any]:
    return {
        "payOrdId": order.pay_order_id,
        "payToken": order.pay_token,
        "ordStas": _order_status(order),
        "extData": {
            "result": [
                {
                    "feedetlSn": line["feedetl_sn"],
                    "detItemFeeSumamt": yuan(line["amount_fen"]),
                    "chrgitmLv": rules.CHARGE_LEVEL[line["class"]],
                    "selfpayProp": f"{line['preselfpay_percent'] / 100:.2f}",
                }
                for line in order.lines
            ]
        },
    }


def _amounts(order: SandboxInsuranceOrder) -> dict[str, str]:
    return {
        "feeSumamt": yuan(order.total_fen),
        "fundPay": yuan(order.fund_fen),
        "psnAcctPay": yuan(order.account_fen),
        "ownPayAmt": yuan(order.cash_fen),
    }


def _place_answer(order: SandboxInsuranceOrder) -> dict[str, Any]:
    return {
        "payOrdId": order.pay_order_id,
        "medOrgOrd": order.order_number,
        "ordStas": _order_status(order),
        **_amounts(order),
        "payUrl": f"{CASHIER_URL}?payOrdId={order.pay_order_id}",
        "extData": {"setlinfo": order.settlement},
    }


def _refund_answer(refund: SandboxInsuranceRefund) -> dict[str, Any]:
    return {
        "payOrdId": refund.pay_order_id,
        "appRefdSn": refund.refund_number,
        "refdId": refund.refund_id,
        "refStatus": "SUCC",
        "refdType": refund.refund_type,
        "refdTime": envelope.timestamp_of(refund.refunded_at),
        "totlRefdAmt": yuan(refund.total_fen),
        "cashRefdAmt": yuan(refund.cash_fen),
        "psnAcctRefdAmt": yuan(refund.account_fen),
        "fundRefdAmt": yuan(refund.fund_fen),
    }


def settlement_message(
    order: SandboxInsuranceOrder, *, refunds: Any = (), call_type: str = "SETL"
) -> dict[str, Any]:
    """An order as 6301 answers it and as the settlement notification carries it."""
    message: dict[str, Any] = {
        "callType": call_type,
        "payOrdId": order.pay_order_id,
        "medOrgOrd": order.order_number,
        "orgCodg": SANDBOX_ORG_CODE,
        "orgName": SANDBOX_ORG_NAME,
        "ordStas": _order_status(order),
        "traceTime": envelope.timestamp_of(order.updated_at),
        **(_amounts(order) if order.state != "saved" else {"feeSumamt": yuan(order.total_fen)}),
        "extData": {
            "setlinfo": order.settlement,
            "refdList": [_refund_answer(refund) for refund in refunds],
        },
    }
    if order.settled_at is not None:
        message.update(
            setlType="ALL",
            hiChrgTime=envelope.timestamp_of(order.settled_at),
            hiDocSn=order.settlement_id,
        )
    return message


async def _notify(
    session: AsyncSession, url: str, data: Mapping[str, Any], settings: InsuranceSandboxSettings
) -> None:
    delay = control.notification_delay_seconds
    copies = control.notification_copies
    sealed = envelope.seal(platform_party(), data, timestamp=envelope.timestamp_of(now()))
    await courier.send_notification(
        session,
        courier.Delivery(
            url=url,
            headers={"Content-Type": "application/json; charset=utf-8"},
            body=json.dumps(sealed, ensure_ascii=False).encode("utf-8"),
        ),
        delay=timedelta(seconds=settings.notification_delay_seconds if delay is None else delay),
        copies=settings.notification_copies if copies is None else copies,
    )


def _configured_settings() -> InsuranceSandboxSettings:
    from ihos.config import get_settings

    configured = getattr(get_settings().integrations, "insurance", None)
    return configured.sandbox if isinstance(configured, InsuranceSettings) else InsuranceSandboxSettings()


# -- what the demo and the tests do in the patient's place ----------------------------------------------


def _authorisation_mac(id_number: str, expires: str) -> str:
    message = f"payAuthNo:{id_number.strip().upper()}:{expires}".encode()
    return hmac_sm3(SANDBOX_APP_SECRET.encode(), message).hex()[:24]


def issue_authorisation(id_number: str, *, valid_for: timedelta = AUTHORISATION_LIFETIME) -> str:
    """The patient authorised payment in the insurance e-voucher: the payAuthNo the app is given, bound
    to the insured person and valid for ``valid_for`` (at most 40 characters, as the interface allows)."""
    expires = str(int((now() + valid_for).timestamp()))
    return f"AUTH{expires}{_authorisation_mac(id_number, expires)}"


def authorisation_is_valid(pay_auth_no: str, id_number: str) -> bool:
    match = _AUTHORISATION.match(pay_auth_no)
    if match is None:
        return False
    expires, mac = match.groups()
    return hmac.compare_digest(mac, _authorisation_mac(id_number, expires)) and now().timestamp() < int(
        expires
    )


async def simulate_payment(
    session: AsyncSession,
    order_number: str,
    *,
    outcome: Literal["settled", "failed"] = "settled",
    settings: InsuranceSandboxSettings | None = None,
) -> SandboxInsuranceOrder:
    """The patient confirmed in the insurance app (``settled``), or the settlement failed (``failed``):
    the order moves on and the settlement notification is queued for the order's notify URL.
    ``settings``: the notification delay and copies; by default the configured sandbox's."""
    settings = settings or _configured_settings()
    order = (
        await session.scalars(
            select(SandboxInsuranceOrder).where(SandboxInsuranceOrder.order_number == order_number)
        )
    ).one_or_none()
    if order is None:
        raise InsuranceSandboxError(f"no insurance order {order_number}")
    if order.state == "presettled" and now() >= order.expires_at:
        await session.execute(
            update(SandboxInsuranceOrder)
            .where(SandboxInsuranceOrder.id == order.id, SandboxInsuranceOrder.state == "presettled")
            .values(state="closed", updated_at=now())
        )
        raise InsuranceSandboxError(f"insurance order {order_number} has expired")
    moment = now()
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(SandboxInsuranceOrder)
        .where(SandboxInsuranceOrder.id == order.id, SandboxInsuranceOrder.state == "presettled")
        .values(
            state=outcome,
            settled_at=moment if outcome == "settled" else None,
            settlement={**order.settlement, "setl_time": envelope.timestamp_of(moment)}
            if outcome == "settled"
            else order.settlement,
            updated_at=moment,
        )
    )
    if result.rowcount != 1:
        raise InsuranceSandboxError(
            f"insurance order {order_number} is {order.state}, not waiting for payment"
        )
    await session.refresh(order)
    await _notify(session, order.notify_url, settlement_message(order), settings)
    log.info("sandbox insurance order %s %s", order.pay_order_id, outcome)
    return order


async def statement(session: AsyncSession, day: date) -> bytes:
    """The platform's ledger of ``day`` (the hospital's zone) as CSV: settlements and refunds."""
    start, end = start_of_local_day(day), start_of_local_day(day + timedelta(days=1))
    orders = (
        await session.scalars(
            select(SandboxInsuranceOrder)
            .where(SandboxInsuranceOrder.settled_at >= start, SandboxInsuranceOrder.settled_at < end)
            .order_by(SandboxInsuranceOrder.settled_at)
        )
    ).all()
    refunds = (
        await session.scalars(
            select(SandboxInsuranceRefund)
            .where(SandboxInsuranceRefund.refunded_at >= start, SandboxInsuranceRefund.refunded_at < end)
            .order_by(SandboxInsuranceRefund.refunded_at)
        )
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "kind",
            "medOrgOrd",
            "payOrdId",
            "setl_id",
            "appRefdSn",
            "time",
            "medfee_sumamt",
            "fund_pay_sumamt",
            "acct_pay",
            "psn_cash_pay",
        ]
    )
    numbers = {o.pay_order_id: o.order_number for o in orders}
    for order in orders:
        if order.settled_at is None:  # pragma: no cover - selected by settled_at
            continue
        writer.writerow(
            [
                "settlement",
                order.order_number,
                order.pay_order_id,
                order.settlement_id,
                "",
                envelope.timestamp_of(order.settled_at),
                yuan(order.total_fen),
                yuan(order.fund_fen),
                yuan(order.account_fen),
                yuan(order.cash_fen),
            ]
        )
    for refund in refunds:
        order_number = numbers.get(refund.pay_order_id)
        if order_number is None:
            found = await session.scalar(
                select(SandboxInsuranceOrder.order_number).where(
                    SandboxInsuranceOrder.pay_order_id == refund.pay_order_id
                )
            )
            order_number = found or ""
        writer.writerow(
            [
                "refund",
                order_number,
                refund.pay_order_id,
                "",
                refund.refund_number,
                envelope.timestamp_of(refund.refunded_at),
                yuan(-refund.total_fen),
                yuan(-refund.fund_fen),
                yuan(-refund.account_fen),
                yuan(-refund.cash_fen),
            ]
        )
    return buffer.getvalue().encode("utf-8")
