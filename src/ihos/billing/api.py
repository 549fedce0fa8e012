"""Payments: the patient's orders, bills, payments and refunds; channel notifications; the finance desk;
and the same order and payment interface for the hospital's other systems (FI-01)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth.caller import Caller
from ihos.auth.deps import PatientCaller, StaffCaller, requires
from ihos.auth.permissions import Permission
from ihos.auth.system_clients import SystemCaller
from ihos.billing import anomalies, channels, clinic_bills, config, refunds, repository, service
from ihos.billing.schemas import (
    AnomalyOut,
    ApprovalLevelIn,
    ApprovalLevelOut,
    ApprovalOut,
    AttemptOut,
    ChannelName,
    ChannelOut,
    ChannelUpdate,
    ClinicBillIn,
    ClinicBillOut,
    Decision,
    FinanceOrderOut,
    FinanceRefundOut,
    Handling,
    NotificationOut,
    OrderDetail,
    OrderLineOut,
    OrderOut,
    PatientOrderDetail,
    PayIn,
    PaymentOut,
    PrepayOut,
    RefundAuthorityIn,
    RefundAuthorityOut,
    RefundIn,
    RefundOut,
    RefundStatistic,
    RequesterOut,
    StaffRef,
    StaffRefundIn,
    SystemOrderIn,
)
from ihos.config import get_settings
from ihos.integrations.his.base import ClinicBill as HisBill
from ihos.integrations.his.base import ClinicBillLine
from ihos.integrations.payment.base import Payer, Prepay
from ihos.kit.http import DbSession
from ihos.kit.schema import Page
from ihos.models.billing import Anomaly, ClinicBill, Order, Refund, RefundApprovalLevel, RefundAuthority
from ihos.models.organization import Staff
from ihos.models.patients import Patient
from ihos.patients import repository as patients
from ihos.security.masking import mask_name, mask_phone

router = APIRouter(tags=["payments"])
finance = APIRouter(prefix="/finance", tags=["finance"])

FinanceReader = Annotated[Caller, Depends(requires(Permission.FINANCE_READ))]
AnomalyHandler = Annotated[Caller, Depends(requires(Permission.ANOMALY_HANDLE))]
FinanceConfigurer = Annotated[Caller, Depends(requires(Permission.FINANCE_CONFIGURE))]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]
OrderStates = Annotated[
    str | None,
    Query(
        max_length=120,
        pattern=r"^[a-z_]+(,[a-z_]+)*$",
        description="订单状态，可用逗号分隔多个，如 partially_refunded,refunded",
    ),
]


def order_out(order: Order) -> OrderOut:
    return OrderOut.model_validate(order)


def masked(name: str | None) -> str | None:
    return mask_name(name) if name else None


def prepay_out(prepay: Prepay, order_number: str) -> PrepayOut:
    split = prepay.insurance
    url, method = prepay.url, prepay.url_method
    if url and get_settings().demo and _is_sandbox(prepay.channel):
        # Demo mode: the H5 payment opens ihos's demo cashier instead of the sandbox's unreachable page.
        back = quote(f"/h5/pages/orders/detail?number={order_number}", safe="")
        url, method = f"/api/v1/sandbox/cashier/{order_number}?return_to={back}", "get"
    # A form to post (UnionPay's H5 gateway) goes in ``fields``; ``params`` stay what a mini-program's own
    # payment call takes.
    posted = url is not None and method == "post"
    return PrepayOut(
        channel=prepay.channel,
        params={} if posted else dict(prepay.params),
        url=url,
        method=method if url else None,
        fields=dict(prepay.params) if posted else {},
        insurance_fund_fen=split.fund_fen if split else None,
        personal_account_fen=split.personal_account_fen if split else None,
        self_pay_fen=split.self_pay_fen if split else None,
    )


def _is_sandbox(channel: str) -> bool:
    integrations = get_settings().integrations
    settings: Any = {
        "wechat": integrations.wechat_pay,
        "alipay": integrations.alipay_pay,
        "unionpay": integrations.unionpay,
        "insurance": integrations.insurance,
    }.get(channel)
    return settings is not None and settings.provider == "sandbox"


def staff_ref(staff: Staff | None) -> StaffRef | None:
    return StaffRef(id=staff.id, name=staff.name, staff_number=staff.staff_number) if staff else None


def anomaly_out(
    anomaly: Anomaly, order_number: str | None = None, handled_by: Staff | None = None
) -> AnomalyOut:
    return AnomalyOut(
        id=anomaly.id,
        kind=anomaly.kind,
        kind_label=anomalies.KINDS.get(anomaly.kind, anomaly.kind),
        order_id=anomaly.order_id,
        order_number=order_number,
        refund_id=anomaly.refund_id,
        details=anomaly.details,
        state=anomaly.state,
        note=anomaly.note,
        created_at=anomaly.created_at,
        handled_at=anomaly.handled_at,
        handled_by=staff_ref(handled_by),
    )


async def anomalies_out(session: AsyncSession, rows: Sequence[Anomaly]) -> list[AnomalyOut]:
    """Anomalies with their orders' numbers and who handled them."""
    numbers = await repository.order_numbers(session, [a.order_id for a in rows if a.order_id])
    handlers = await repository.staff_by_id(session, [a.handled_by for a in rows if a.handled_by])
    return [
        anomaly_out(
            a,
            numbers.get(a.order_id) if a.order_id else None,
            handlers.get(a.handled_by) if a.handled_by else None,
        )
        for a in rows
    ]


def refund_out(refund: Refund, notes: dict[uuid.UUID, str | None]) -> RefundOut:
    """A refund as the patient sees it: no word of who asked or decided, but the reason of a rejection."""
    fields = {name: getattr(refund, name) for name in RefundOut.model_fields if name != "rejection_note"}
    return RefundOut(**fields, rejection_note=notes.get(refund.id))


def finance_refund_out(refund: Refund, facts: repository.RefundFacts) -> FinanceRefundOut:
    return FinanceRefundOut(
        **refund_out(refund, facts.rejection_notes).model_dump(),
        order_number=facts.order_numbers[refund.order_id],
        channel=facts.channels[refund.payment_id],
        requested_by=_requester(refund, facts),
    )


def _requester(refund: Refund, facts: repository.RefundFacts) -> RequesterOut:
    """Who asked: a member of staff by name, a patient's account by its masked phone (as the audit log
    shows it), or the system (an automatic refund)."""
    asked_by = refund.requested_by_id
    if refund.requested_by_kind == "staff" and asked_by is not None:
        staff = facts.staff.get(asked_by)
        return RequesterOut(
            kind="staff",
            id=asked_by,
            name=staff.name if staff else "（未知工作人员）",
            staff_number=staff.staff_number if staff else None,
        )
    if refund.requested_by_kind == "patient":
        account = facts.accounts.get(asked_by) if asked_by else None
        label = (mask_phone(account.phone) if account.phone else account.username) if account else None
        return RequesterOut(kind="patient", id=asked_by, name=label or "患者", staff_number=None)
    return RequesterOut(kind="system", id=None, name="系统", staff_number=None)


async def finance_refunds_out(session: AsyncSession, refunds: Sequence[Refund]) -> list[FinanceRefundOut]:
    facts = await repository.refund_facts(session, refunds)
    return [finance_refund_out(refund, facts) for refund in refunds]


async def finance_refund(session: AsyncSession, refund: Refund) -> FinanceRefundOut:
    return (await finance_refunds_out(session, [refund]))[0]


def authority_out(grant: RefundAuthority, staff: Staff) -> RefundAuthorityOut:
    return RefundAuthorityOut(
        staff_id=staff.id,
        staff_name=staff.name,
        staff_number=staff.staff_number,
        may_request=grant.may_request,
        may_approve=grant.may_approve,
        approval_limit_fen=grant.approval_limit_fen,
        may_execute=grant.may_execute,
    )


def approval_level_out(level: RefundApprovalLevel, role_name: str) -> ApprovalLevelOut:
    return ApprovalLevelOut(
        level=level.level, min_amount_fen=level.min_amount_fen, role_code=level.role_code, role_name=role_name
    )


def bill_out(bill: ClinicBill, patient: Patient) -> ClinicBillOut:
    return ClinicBillOut(
        id=bill.id,
        his_bill_id=bill.his_bill_id,
        patient_id=patient.id,
        patient_name=mask_name(patient.name),
        department=bill.department,
        doctor=bill.doctor,
        lines=list(bill.lines),
        total_fen=bill.total_fen,
        state=bill.state,
        billed_at=bill.billed_at,
    )


# patient app ---------------------------------------------------------------------------------


@router.get("/payments/channels", response_model=list[ChannelOut], summary="可用的支付方式")
async def enabled_channels(session: DbSession) -> list[ChannelOut]:
    return [ChannelOut.model_validate(c) for c in await channels.enabled(session)]


@router.get("/me/orders", response_model=Page[OrderOut], summary="我的订单与消费记录")
async def my_orders(
    session: DbSession,
    caller: PatientCaller,
    state: OrderStates = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[OrderOut]:
    rows, total = await repository.orders_of_account(
        session,
        caller.subject_id,
        states=state.split(",") if state else [],
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return Page(items=[order_out(o) for o in rows], total=total, page=page, page_size=page_size)


@router.get("/me/orders/{order_number}", response_model=PatientOrderDetail, summary="订单详情")
async def my_order(order_number: str, session: DbSession, caller: PatientCaller) -> PatientOrderDetail:
    order = await service.own_order(session, caller, order_number)
    names = await repository.patient_names(session, [order.patient_id] if order.patient_id else [])
    return PatientOrderDetail(
        **order_out(order).model_dump(),
        patient_name=masked(names.get(order.patient_id)) if order.patient_id else None,
        lines=[OrderLineOut.model_validate(x) for x in await repository.order_lines(session, order.id)],
    )


@router.post("/me/orders/{order_number}/pay", response_model=PrepayOut, summary="支付订单（获取支付参数）")
async def pay_my_order(
    order_number: str, body: PayIn, session: DbSession, caller: PatientCaller
) -> PrepayOut:
    payer = Payer(
        wechat_openid=body.wechat_openid,
        alipay_user_id=body.alipay_user_id,
        client_address=caller.client_address,
    )
    prepay = await service.pay(
        session,
        caller,
        order_number=order_number,
        channel_name=body.channel,
        scene=body.scene,
        payer=payer,
        insurance_authorisation=body.insurance_authorisation,
    )
    return prepay_out(prepay, order_number)


@router.post(
    "/me/orders/{order_number}/refunds", status_code=201, response_model=RefundOut, summary="申请退款"
)
async def request_my_refund(
    order_number: str, body: RefundIn, session: DbSession, caller: PatientCaller
) -> RefundOut:
    refund = await refunds.request_refund_as_patient(
        session, caller, order_number=order_number, amount_fen=body.amount_fen, reason=body.reason
    )
    return refund_out(refund, {})


@router.get("/me/orders/{order_number}/refunds", response_model=list[RefundOut], summary="订单的退款进度")
async def my_refunds(order_number: str, session: DbSession, caller: PatientCaller) -> list[RefundOut]:
    order = await service.own_order(session, caller, order_number)
    found = await refunds.refunds_of_order(session, order.id)
    notes = await repository.rejection_notes(session, found)
    return [refund_out(r, notes) for r in found]


@router.get("/me/clinic-bills", response_model=list[ClinicBillOut], summary="待缴费用（诊间支付）")
async def my_clinic_bills(session: DbSession, caller: PatientCaller) -> list[ClinicBillOut]:
    return [bill_out(bill, patient) for bill, patient in await clinic_bills.pending_bills(session, caller)]


@router.post("/me/clinic-bills/{bill_id}/order", response_model=OrderOut, summary="为待缴费用生成订单")
async def order_clinic_bill(bill_id: uuid.UUID, session: DbSession, caller: PatientCaller) -> OrderOut:
    return order_out(await clinic_bills.order_for_bill(session, caller, bill_id))


# channels' notifications -----------------------------------------------------------------------


@router.post("/payments/notifications/{channel}", summary="支付渠道回调通知（验签）", include_in_schema=True)
async def channel_notification(channel: ChannelName, request: Request, session: DbSession) -> Response:
    acknowledgement = await service.receive_notification(
        session, channel, headers=dict(request.headers), body=await request.body()
    )
    return Response(
        content=acknowledgement.body,
        status_code=acknowledgement.status,
        media_type=acknowledgement.content_type,
    )


# finance desk (FI-01…FI-03) -----------------------------------------------------------------------


@finance.get("/orders", response_model=Page[FinanceOrderOut], summary="订单查询")
async def search_orders(
    session: DbSession,
    caller: FinanceReader,
    order_number: Annotated[str | None, Query(max_length=64, description="订单号或渠道交易号")] = None,
    patient: Annotated[str | None, Query(max_length=40, description="姓名、身份证号或手机号")] = None,
    card_number: Annotated[str | None, Query(max_length=64, description="电子健康卡号")] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    business_kind: Annotated[str | None, Query(max_length=30)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    min_amount_fen: Annotated[int | None, Query(ge=0)] = None,
    max_amount_fen: Annotated[int | None, Query(ge=0)] = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[FinanceOrderOut]:
    query = repository.OrderQuery(
        order_number=order_number,
        patient=patient,
        health_card_number=card_number,
        channel=channel,
        state=state,
        business_kind=business_kind,
        since=since,
        until=until,
        min_amount_fen=min_amount_fen,
        max_amount_fen=max_amount_fen,
    )
    rows, total = await repository.search_orders(
        session, query, offset=(page - 1) * page_size, limit=page_size
    )
    names = await repository.patient_names(session, [o.patient_id for o in rows if o.patient_id])
    items = [
        FinanceOrderOut(
            **order_out(o).model_dump(),
            patient_name=masked(names.get(o.patient_id)) if o.patient_id else None,
        )
        for o in rows
    ]
    return Page(items=items, total=total, page=page, page_size=page_size)


@finance.get("/orders/{order_number}", response_model=OrderDetail, summary="订单详情与时间线")
async def order_detail(order_number: str, session: DbSession, caller: FinanceReader) -> OrderDetail:
    order = await service.order_by_number(session, order_number)
    if order is None:
        raise service.OrderNotFound()
    found = await repository.history(session, order)
    names = await repository.patient_names(session, [order.patient_id] if order.patient_id else [])
    staff = await repository.staff_by_id(
        session,
        [x.approver_id for x in found.approvals] + [x.handled_by for x in found.anomalies if x.handled_by],
    )
    return OrderDetail(
        **order_out(order).model_dump(),
        patient_name=masked(names.get(order.patient_id)) if order.patient_id else None,
        lines=[OrderLineOut.model_validate(x) for x in found.lines],
        attempts=[AttemptOut.model_validate(x) for x in found.attempts],
        payments=[PaymentOut.model_validate(x) for x in found.payments],
        notifications=[NotificationOut.model_validate(x) for x in found.notifications],
        refunds=await finance_refunds_out(session, found.refunds),
        approvals=[
            ApprovalOut(
                refund_id=x.refund_id,
                level=x.level,
                approver_id=x.approver_id,
                approver=staff_ref(staff[x.approver_id]),
                decision=x.decision,
                note=x.note,
                decided_at=x.decided_at,
            )
            for x in found.approvals
        ],
        anomalies=[
            anomaly_out(x, order.order_number, staff.get(x.handled_by) if x.handled_by else None)
            for x in found.anomalies
        ],
    )


@finance.post(
    "/orders/{order_number}/refunds",
    status_code=201,
    response_model=FinanceRefundOut,
    summary="申请退款（工作人员）",
)
async def request_refund(
    order_number: str, body: StaffRefundIn, session: DbSession, caller: StaffCaller
) -> FinanceRefundOut:
    refund = await refunds.request_refund_as_staff(
        session, caller, order_number=order_number, amount_fen=body.amount_fen, reason=body.reason
    )
    return await finance_refund(session, refund)


@finance.get("/refunds", response_model=Page[FinanceRefundOut], summary="退款查询与审批队列")
async def search_refunds(
    session: DbSession,
    caller: FinanceReader,
    state: Annotated[str | None, Query(max_length=20)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    refund_number: Annotated[str | None, Query(max_length=32)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[FinanceRefundOut]:
    query = repository.RefundQuery(
        state=state, channel=channel, since=since, until=until, refund_number=refund_number
    )
    rows, total = await repository.search_refunds(
        session, query, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(items=await finance_refunds_out(session, rows), total=total, page=page, page_size=page_size)


@finance.get("/refunds/statistics", response_model=list[RefundStatistic], summary="退款统计（按渠道、状态）")
async def refund_statistics(
    session: DbSession,
    caller: FinanceReader,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> list[RefundStatistic]:
    rows = await repository.refund_statistics(session, repository.RefundQuery(since=since, until=until))
    return [RefundStatistic(channel=c, state=s, count=n, amount_fen=a) for c, s, n, a in rows]


@finance.post("/refunds/{refund_id}/approve", response_model=FinanceRefundOut, summary="审批通过（当前级）")
async def approve_refund(
    refund_id: uuid.UUID, body: Decision, session: DbSession, caller: StaffCaller
) -> FinanceRefundOut:
    refund = await refunds.decide(session, caller, refund_id, approve=True, note=body.note)
    return await finance_refund(session, refund)


@finance.post("/refunds/{refund_id}/reject", response_model=FinanceRefundOut, summary="审批驳回")
async def reject_refund(
    refund_id: uuid.UUID, body: Decision, session: DbSession, caller: StaffCaller
) -> FinanceRefundOut:
    refund = await refunds.decide(session, caller, refund_id, approve=False, note=body.note)
    return await finance_refund(session, refund)


@finance.post("/refunds/{refund_id}/execute", response_model=FinanceRefundOut, summary="执行退款（原路退回）")
async def execute_refund(refund_id: uuid.UUID, session: DbSession, caller: StaffCaller) -> FinanceRefundOut:
    return await finance_refund(session, await refunds.execute(session, caller, refund_id))


@finance.get("/anomalies", response_model=Page[AnomalyOut], summary="异常订单")
async def search_anomalies(
    session: DbSession,
    caller: FinanceReader,
    state: Annotated[str | None, Query(pattern="^(open|handled)$")] = "open",
    kind: Annotated[str | None, Query(max_length=30)] = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[AnomalyOut]:
    rows, total = await repository.search_anomalies(
        session, state=state, kind=kind, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(items=await anomalies_out(session, rows), total=total, page=page, page_size=page_size)


@finance.post("/anomalies/{anomaly_id}/handle", response_model=AnomalyOut, summary="处理异常（填写说明）")
async def handle_anomaly(
    anomaly_id: uuid.UUID, body: Handling, session: DbSession, caller: AnomalyHandler
) -> AnomalyOut:
    [handled] = await anomalies_out(
        session, [await anomalies.handle(session, caller, anomaly_id, note=body.note)]
    )
    return handled


@finance.get("/payment-channels", response_model=list[ChannelOut], summary="支付渠道设置")
async def list_channels(session: DbSession, caller: FinanceReader) -> list[ChannelOut]:
    return [ChannelOut.model_validate(c) for c in await config.all_channels(session)]


@finance.put("/payment-channels/{channel}", response_model=ChannelOut, summary="启用或停用支付渠道")
async def set_channel(
    channel: str, body: ChannelUpdate, session: DbSession, caller: FinanceConfigurer
) -> ChannelOut:
    setting = await config.set_channel(session, caller, channel, **body.model_dump())
    return ChannelOut.model_validate(setting)


@finance.get("/refund-approval-levels", response_model=list[ApprovalLevelOut], summary="退款审批链")
async def approval_levels(session: DbSession, caller: FinanceReader) -> list[ApprovalLevelOut]:
    return [approval_level_out(level, name) for level, name in await config.approval_chain(session)]


@finance.put("/refund-approval-levels", response_model=list[ApprovalLevelOut], summary="设置退款审批链")
async def set_approval_levels(
    body: list[ApprovalLevelIn], session: DbSession, caller: FinanceConfigurer
) -> list[ApprovalLevelOut]:
    await config.replace_approval_chain(session, caller, [config.LevelIn(**x.model_dump()) for x in body])
    return [approval_level_out(level, name) for level, name in await config.approval_chain(session)]


@finance.get("/refund-authorities", response_model=list[RefundAuthorityOut], summary="退款权限（按人员）")
async def refund_authorities(session: DbSession, caller: FinanceReader) -> list[RefundAuthorityOut]:
    return [authority_out(g, s) for g, s in await config.refund_authorities(session)]


@finance.get(
    "/refund-authorities/mine",
    response_model=RefundAuthorityOut,
    summary="我的退款权限（当前登录的工作人员）",
)
async def my_refund_authority(session: DbSession, caller: StaffCaller) -> RefundAuthorityOut:
    return authority_out(*await config.my_refund_authority(session, caller))


@finance.put(
    "/refund-authorities/{staff_id}", response_model=RefundAuthorityOut, summary="设置某人的退款权限"
)
async def set_refund_authority(
    staff_id: uuid.UUID, body: RefundAuthorityIn, session: DbSession, caller: FinanceConfigurer
) -> RefundAuthorityOut:
    grant = await config.set_refund_authority(session, caller, staff_id, **body.model_dump())
    staff = next(s for g, s in await config.refund_authorities(session) if g.staff_id == staff_id)
    return authority_out(grant, staff)


# other hospital systems (signed system-client requests) ------------------------------------------


@router.post("/system/orders", status_code=201, response_model=OrderOut, summary="为患者下单（对接系统）")
async def system_create_order(body: SystemOrderIn, session: DbSession, caller: SystemCaller) -> OrderOut:
    patient = await patients.patient_by_id_number(session, body.patient_id_number)
    if patient is None:
        raise clinic_bills.PatientNotRegistered()
    order = await service.create_order(
        session,
        caller,
        account_id=None,
        patient=patient,
        business_kind=body.business_kind,
        business_reference=body.business_reference,
        description=body.description,
        lines=[service.LineIn(x.item_code, x.name, x.quantity, x.unit_price_fen) for x in body.lines],
    )
    return order_out(order)


@router.get("/system/orders/{order_number}", response_model=OrderOut, summary="查询订单（对接系统）")
async def system_order(order_number: str, session: DbSession, caller: SystemCaller) -> OrderOut:
    return order_out(await service.own_order(session, caller, order_number))


@router.post(
    "/system/orders/{order_number}/pay", response_model=PrepayOut, summary="获取支付参数（对接系统）"
)
async def system_pay(order_number: str, body: PayIn, session: DbSession, caller: SystemCaller) -> PrepayOut:
    payer = Payer(wechat_openid=body.wechat_openid, alipay_user_id=body.alipay_user_id)
    prepay = await service.pay(
        session,
        caller,
        order_number=order_number,
        channel_name=body.channel,
        scene=body.scene,
        payer=payer,
        insurance_authorisation=body.insurance_authorisation,
    )
    return prepay_out(prepay, order_number)


@router.post(
    "/system/clinic-bills", status_code=201, response_model=ClinicBillOut, summary="推送诊间待缴费用（HIS）"
)
async def system_clinic_bill(body: ClinicBillIn, session: DbSession, caller: SystemCaller) -> ClinicBillOut:
    bill = HisBill(
        his_bill_id=body.his_bill_id,
        patient_id_number=body.patient_id_number,
        department=body.department,
        doctor=body.doctor,
        created_at=body.created_at,
        total_fen=body.total_fen,
        state="unpaid",
        lines=tuple(
            ClinicBillLine(x.code, x.name, x.quantity, x.unit_price_fen, x.amount_fen) for x in body.lines
        ),
    )
    row = await clinic_bills.receive_from_his(session, caller, bill)
    patient = await session.get_one(Patient, row.patient_id)
    return bill_out(row, patient)


router.include_router(finance)
