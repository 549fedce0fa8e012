"""Medical-insurance mobile payment (医保移动支付) as a ``PaymentChannel``: 6201 uploads the fee details,
6202 places the order and answers the split (fund, personal account, cash) and the cashier URL where the
patient confirms in the insurance app; 6301 queries, 6401 closes, 6203 refunds.

The split always comes from the platform's 6202 answer, never from the caller, and must add up to the
bill. The platform knows an order by its ``payOrdId`` and ``payToken`` (6201's answer), which ihos
keeps in the split's ``fields``: a ``references`` lookup gives them back for later calls. Without one,
the calls name the order by ``medOrgOrd`` (ihos's order number) only, which the sandbox accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ihos.integrations.payment.base import (
    Acknowledgement,
    ChannelError,
    ChannelName,
    InsuranceClaim,
    InsuranceSplit,
    NotificationRejected,
    PaymentResult,
    PaymentState,
    Prepay,
    PrepayRequest,
    RefundRequest,
    RefundResult,
    RefundState,
    VerifiedNotification,
)
from ihos.integrations.payment.insurance import envelope
from ihos.integrations.payment.insurance.client import UNAVAILABLE, InsuranceClient, plain
from ihos.integrations.payment.insurance.envelope import EnvelopeError, fen, yuan
from ihos.kit.time import now

log = logging.getLogger(__name__)

ID_CARD = "01"  # 证件类型: 居民身份证
# 就诊凭证类型 (mdtrtCertType): the insurance e-voucher (医保电子凭证), whose authorisation gives the
# payAuthNo of an online payment; or the resident ID card when there is none.
CERTIFICATE_E_VOUCHER = "01"
CERTIFICATE_ID_CARD = "02"
# ordStas → what it means for the order (national dictionary of 6301's order states).
ORDER_STATES: dict[str, PaymentState] = {
    "0": "pending",  # 已保存
    "1": "pending",  # 预结算完成
    "2": "pending",  # 结算中
    "3": "paid",  # 自费完成
    "4": "paid",  # 医保支付完成
    "5": "paid",  # 院内结算完成
    "6": "paid",  # 结算完成
    "7": "refunded",  # 已退款
    "8": "paid",  # 已医保全部退款 (the cash part stands)
    "9": "paid",  # 仅自费全部退款
    "10": "paid",  # 仅自费部分退款
    "11": "paid",  # 医保全部退自费部分退款
    "12": "closed",  # 已撤销
    "13": "closed",  # 医保已撤销
    "14": "failed",  # 异常
    "15": "failed",  # 结算失败
    "16": "failed",  # 医保结算失败，自费冲正失败
}
REFUND_STATES: dict[str, RefundState] = {"SUCC": "succeeded", "FAIL": "failed", "EXP": "processing"}
# The split's fields the channel hands on besides the settlement (setlinfo).
ORDER_FIELDS = ("payOrdId", "payToken", "ordStas", "feeSumamt", "fundPay", "psnAcctPay", "ownPayAmt")


@dataclass(frozen=True)
class PayOrderReference:
    """How the platform knows an ihos order: ``payOrdId`` and ``payToken`` from 6201, and the insured
    person the order was placed for (6301 and 6401 ask for them again)."""

    pay_order_id: str
    pay_token: str = ""
    insured_name: str = field(default="", repr=False)
    insured_id_number: str = field(default="", repr=False)


ReferenceLookup = Callable[[str], Awaitable[PayOrderReference | None]]


class InsuranceChannel:
    name: ChannelName = "insurance"

    def __init__(self, client: InsuranceClient, *, references: ReferenceLookup | None = None) -> None:
        self.client = client
        self.references = references

    @property
    def org_code(self) -> str:
        return self.client.config.org_code

    # -- prepay -----------------------------------------------------------------------------------------

    async def create_prepay(self, request: PrepayRequest) -> Prepay:
        claim = request.insurance
        if claim is None or not claim.fee_lines:
            raise ChannelError("insurance_claim_missing", "医保支付需要参保人和费用明细", retryable=False)
        if sum(line.amount_fen for line in claim.fee_lines) != request.amount_fen:
            raise ChannelError("amount_mismatch", "费用明细与订单金额不符", retryable=False)
        uploaded = await self.client.call("6201", self._fee_upload(request, claim))
        pay_order_id, pay_token = uploaded.get("payOrdId"), uploaded.get("payToken")
        if not isinstance(pay_order_id, str) or not pay_order_id or not isinstance(pay_token, str):
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        placed = await self.client.call(
            "6202",
            {
                "orgCodg": self.org_code,
                "payOrdId": pay_order_id,
                "payToken": pay_token,
                "medOrgOrd": request.order_number,
                "orgBizSer": request.order_number,
                "chrgBchno": request.order_number,
                "feeType": "01",
                "acctUsedFlag": "1",
            },
        )
        if placed.get("payOrdId") != pay_order_id:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        split = _split(placed, pay_token=pay_token)
        if split.total_fen != request.amount_fen:
            log.warning("insurance 6202 for %s answered another total", request.order_number)
            raise ChannelError("bad_response", UNAVAILABLE, retryable=False)
        pay_url = placed.get("payUrl")
        return Prepay(
            channel="insurance",
            channel_reference=pay_order_id,
            url=pay_url if isinstance(pay_url, str) and pay_url else None,
            insurance=split,
        )

    def _fee_upload(self, request: PrepayRequest, claim: InsuranceClaim) -> dict[str, Any]:
        moment = envelope.timestamp_of(now())
        # Online payment: the patient's authorisation in the e-voucher (支付授权码 payAuthNo) goes with
        # the fee details, and names the e-voucher as the certificate of the visit.
        authorised = {"payAuthNo": claim.authorisation} if claim.authorisation else {}
        return {
            "orgCodg": self.org_code,
            "medOrgOrd": request.order_number,
            "chrgBchno": request.order_number,
            "idNo": claim.insured_id_number,
            "userName": claim.insured_name,
            "idType": ID_CARD,
            "mdtrtCertType": CERTIFICATE_E_VOUCHER if authorised else CERTIFICATE_ID_CARD,
            **authorised,
            "medType": claim.medical_type,
            "feeType": "01",
            "psnSetlway": "01",  # 按项目结算
            "rxCircFlag": "0",
            "acctUsedFlag": "1",
            "begntime": moment,
            "medfeeSumamt": yuan(request.amount_fen),
            "feedetailList": [
                {
                    "feedetlSn": f"{request.order_number}{number:03d}",
                    "chrgBchno": request.order_number,
                    "medListCodg": line.code,
                    "medinsListCodg": line.code,
                    "medListName": line.name,
                    "cnt": line.quantity,
                    "pric": yuan(line.unit_price_fen),
                    "detItemFeeSumamt": yuan(line.amount_fen),
                    "feeOcurTime": moment,
                }
                for number, line in enumerate(claim.fee_lines, 1)
            ],
            # Live centres take the notify URL from the channel's registration; the sandbox reads it here.
            "extData": {
                "notifyUrl": request.notify_url,
                "expireTime": envelope.timestamp_of(request.expires_at),
                "orderDesc": request.description,
            },
        }

    # -- queries ----------------------------------------------------------------------------------------

    async def _order_ref(self, order_number: str) -> dict[str, Any]:
        reference = await self.references(order_number) if self.references is not None else None
        fields: dict[str, Any] = {"orgCodg": self.org_code, "medOrgOrd": order_number}
        if reference is not None:
            fields.update(
                payOrdId=reference.pay_order_id,
                payToken=reference.pay_token,
                idNo=reference.insured_id_number,
                userName=reference.insured_name,
                idType=ID_CARD if reference.insured_id_number else "",
            )
        return fields

    async def _query(self, order_number: str, reference: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await self.client.call("6301", reference or await self._order_ref(order_number))
        if answer.get("medOrgOrd") not in (None, "", order_number):
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
        return answer

    async def query_payment(self, order_number: str) -> PaymentResult:
        return _payment_result(await self._query(order_number), order_number=order_number)

    async def close(self, order_number: str) -> None:
        await self.client.call("6401", await self._order_ref(order_number))

    # -- refunds ----------------------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        if request.amount_fen <= 0:
            raise ChannelError("invalid_amount", "退款金额必须大于零", retryable=False)
        reference = await self._order_ref(request.order_number)
        order = await self._query(request.order_number, reference)
        if ORDER_STATES.get(str(order.get("ordStas"))) not in ("paid", "refunded"):
            raise ChannelError("order_not_paid", "医保订单未结算，不能退费", retryable=False)
        parts = _refund_parts(order, request)
        answer = await self.client.call(
            "6203",
            {
                **{key: reference[key] for key in ("orgCodg", "payToken") if key in reference},
                "payOrdId": order.get("payOrdId"),
                "appRefdSn": request.refund_number,
                "appRefdTime": envelope.timestamp_of(now()),
                "totlRefdAmt": yuan(request.amount_fen),
                "cashRefdAmt": yuan(parts["cash"]),
                "psnAcctRefdAmt": yuan(parts["account"]),
                "fundRefdAmt": yuan(parts["fund"]),
                "refdType": parts["type"],
                "extData": {"notifyUrl": request.notify_url, "reason": request.reason},
            },
        )
        return _refund_result(answer, refund_number=request.refund_number)

    async def query_refund(self, refund_number: str, *, order_number: str) -> RefundResult:
        order = await self._query(order_number)
        for refund in _refunds(order):
            if refund.get("appRefdSn") == refund_number:
                return _refund_result(refund, refund_number=refund_number)
        raise ChannelError("refund_not_found", "医保未查询到该退费", retryable=False)

    async def download_statement(self, day: date) -> bytes:
        path = self.client.config.statement_path
        if not path:
            raise ChannelError(
                "statement_not_offered",
                "医保移动支付中心不提供对账单，请通过 HIS 与医保对账",
                retryable=False,
            )
        answer = await self.client.call(
            "statement", {"orgCodg": self.org_code, "stmtDate": day.strftime("%Y%m%d")}, path=path
        )
        try:
            return base64.b64decode(str(answer.get("fileContent", "")), validate=True)
        except binascii.Error:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None

    # -- notifications ----------------------------------------------------------------------------------

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        try:
            message = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise NotificationRejected("body is not JSON") from None
        if not isinstance(message, dict):
            raise NotificationRejected("body is not a JSON object")
        if message.get("appId") != self.client.config.party.app_id:
            raise NotificationRejected("unknown appId")
        try:
            data = envelope.open_envelope(self.client.config.party, message)
        except EnvelopeError as exc:
            raise NotificationRejected(exc.reason) from None
        if data is None:
            raise NotificationRejected("no data")
        call_type, pay_order_id = data.get("callType"), data.get("payOrdId")
        order_number = data.get("medOrgOrd")
        if not isinstance(pay_order_id, str) or not isinstance(order_number, str):
            raise NotificationRejected("payOrdId or medOrgOrd missing")
        try:
            if call_type == "SETL":
                payment = _payment_result(data, order_number=order_number)
                return VerifiedNotification(
                    notification_id=f"{pay_order_id}:SETL:{data.get('ordStas')}",
                    kind="payment",
                    payment=payment,
                )
            if call_type == "REFD":
                refund_number = str(data.get("appRefdSn") or "")
                refund = _refund_result(data, refund_number=refund_number)
                return VerifiedNotification(
                    notification_id=f"{pay_order_id}:REFD:{refund_number}", kind="refund", refund=refund
                )
        except ChannelError as exc:
            raise NotificationRejected(f"malformed {call_type} notification: {exc.code}") from None
        raise NotificationRejected(f"unknown callType {call_type!r}")

    def acknowledge(self, *, accepted: bool) -> Acknowledgement:
        body = {"code": 0, "message": "成功"} if accepted else {"code": -1, "message": "失败"}
        return Acknowledgement(
            status=200 if accepted else 500,
            content_type="application/json; charset=utf-8",
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )


# -- answers → ihos -------------------------------------------------------------------------------------


def _amount(data: Mapping[str, Any], name: str) -> int:
    try:
        return fen(data.get(name))
    except ValueError:
        raise ChannelError("bad_response", UNAVAILABLE, retryable=True) from None


def _settlement(data: Mapping[str, Any]) -> dict[str, Any]:
    ext = data.get("extData")
    setlinfo = ext.get("setlinfo") if isinstance(ext, Mapping) else None
    return dict(setlinfo) if isinstance(setlinfo, Mapping) else {}


def _split(data: Mapping[str, Any], *, pay_token: str) -> InsuranceSplit:
    total, fund = _amount(data, "feeSumamt"), _amount(data, "fundPay")
    account, cash = _amount(data, "psnAcctPay"), _amount(data, "ownPayAmt")
    if fund + account + cash != total:
        raise ChannelError("bad_response", UNAVAILABLE, retryable=False)
    setlinfo = _settlement(data)
    # Where the settlement details come along, they must tell the same story as the summary.
    for name, expected in (
        ("medfee_sumamt", total),
        ("fund_pay_sumamt", fund),
        ("acct_pay", account),
        ("psn_cash_pay", cash),
    ):
        if name in setlinfo and _amount(setlinfo, name) != expected:
            raise ChannelError("bad_response", UNAVAILABLE, retryable=False)
    fields = {name: str(plain(data[name])) for name in ORDER_FIELDS if data.get(name) not in (None, "")}
    fields["payToken"] = pay_token
    fields.update({name: str(plain(value)) for name, value in setlinfo.items() if value not in (None, "")})
    settlement_id = str(setlinfo.get("setl_id") or data["payOrdId"])
    return InsuranceSplit(
        total_fen=total,
        fund_fen=fund,
        personal_account_fen=account,
        self_pay_fen=cash,
        settlement_id=settlement_id,
        fields=fields,
    )


def _time(value: Any) -> datetime | None:
    parsed = envelope.parse_timestamp(value) if isinstance(value, str) else None
    return parsed.astimezone(UTC) if parsed is not None else None


def _payment_result(data: Mapping[str, Any], *, order_number: str) -> PaymentResult:
    state = ORDER_STATES.get(str(data.get("ordStas")))
    if state is None:
        raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
    settled = state in ("paid", "refunded")
    setlinfo = _settlement(data)
    return PaymentResult(
        order_number=order_number,
        state=state,
        amount_fen=_amount(data, "feeSumamt") if settled else None,
        transaction_id=str(setlinfo.get("setl_id") or data.get("payOrdId")) if settled else None,
        paid_at=_time(data.get("hiChrgTime") or data.get("traceTime")) if settled else None,
        raw=plain(data),
    )


def _refunds(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    ext = order.get("extData")
    refunds = ext.get("refdList") if isinstance(ext, Mapping) else None
    return [refund for refund in refunds if isinstance(refund, Mapping)] if isinstance(refunds, list) else []


def _refund_parts(order: Mapping[str, Any], request: RefundRequest) -> dict[str, Any]:
    """How a refund of ``request.amount_fen`` splits: the fund and the personal account go back only
    whole (refdType ALL, with the cash left), anything less comes from the cash part (CASH)."""
    for refund in _refunds(order):
        if refund.get("appRefdSn") == request.refund_number:
            # A retry: the platform already has this refund; ask for exactly the same again.
            return {
                "type": str(refund.get("refdType") or "CASH"),
                "fund": _amount(refund, "fundRefdAmt"),
                "account": _amount(refund, "psnAcctRefdAmt"),
                "cash": _amount(refund, "cashRefdAmt"),
            }
    fund, account, cash = _amount(order, "fundPay"), _amount(order, "psnAcctPay"), _amount(order, "ownPayAmt")
    cash_refunded = insurance_refunded = 0
    for refund in _refunds(order):
        if REFUND_STATES.get(str(refund.get("refStatus"))) == "failed":
            continue
        cash_refunded += _amount(refund, "cashRefdAmt")
        insurance_refunded += _amount(refund, "fundRefdAmt") + _amount(refund, "psnAcctRefdAmt")
    cash_left = cash - cash_refunded
    if insurance_refunded == 0 and fund + account > 0 and request.amount_fen == fund + account + cash_left:
        return {"type": "ALL", "fund": fund, "account": account, "cash": cash_left}
    if request.amount_fen <= cash_left:
        return {"type": "CASH", "fund": 0, "account": 0, "cash": request.amount_fen}
    raise ChannelError("partial_insurance_refund", "医保基金和个人账户支付部分只能全额退回", retryable=False)


def _refund_result(data: Mapping[str, Any], *, refund_number: str) -> RefundResult:
    state = REFUND_STATES.get(str(data.get("refStatus")))
    if state is None:
        raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
    if data.get("appRefdSn") not in (None, "", refund_number):
        raise ChannelError("bad_response", UNAVAILABLE, retryable=True)
    refund_id = data.get("refdId")
    return RefundResult(
        refund_number=refund_number,
        state=state,
        amount_fen=_amount(data, "totlRefdAmt"),
        channel_refund_id=str(refund_id) if refund_id else None,
        succeeded_at=_time(data.get("refdTime")) if state == "succeeded" else None,
        raw=plain(data),
    )
