"""Clinic bills (诊间支付, PT-14): charges the HIS creates from a doctor's orders. The HIS pushes a new bill
(a signed system-client call) and the patient's accounts are told by SMS (待缴费提醒); the patient also
sees bills the HIS has that were not pushed, because the list is refreshed from the HIS when opened.
Paying a bill makes an order; the bill counts as paid when the HIS confirms the order's write-back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.billing import service
from ihos.config import get_settings
from ihos.errors import Conflict, Forbidden, NotFound
from ihos.integrations.his import his_payments
from ihos.integrations.his.base import ClinicBill as HisBill
from ihos.integrations.his.base import HisError
from ihos.integrations.payment.base import ChannelError
from ihos.jobs import enqueue
from ihos.kit.time import now
from ihos.models.accounts import Account
from ihos.models.billing import ClinicBill, Order
from ihos.models.patients import AccountPatient, Patient
from ihos.patients import repository as patients
from ihos.security.fields import encrypt_field

NOTICE_JOB = "sms.send_notice"
# A bill the patient may still pay (``paying``: an order for it is open).
OPEN_STATES = ("unpaid", "paying")


class BillNotFound(NotFound):
    code = "clinic_bill_not_found"
    default_message = "待缴费用不存在"


class BillNotPayable(Conflict):
    code = "clinic_bill_not_payable"
    default_message = "该费用已缴清或已作废"


class HisOnly(Forbidden):
    code = "his_only"
    default_message = "只有医院信息系统（HIS）可以推送待缴费用"


class PatientNotRegistered(NotFound):
    code = "patient_not_registered"
    default_message = "该患者未在互联网医院登记"


def _lines(bill: HisBill) -> list[dict[str, object]]:
    return [
        {
            "code": line.code,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price_fen": line.unit_price_fen,
            "amount_fen": line.amount_fen,
        }
        for line in bill.lines
    ]


async def _upsert(session: AsyncSession, patient: Patient, bill: HisBill) -> tuple[ClinicBill, bool]:
    existing = await session.scalar(select(ClinicBill).where(ClinicBill.his_bill_id == bill.his_bill_id))
    if existing is not None:
        if bill.state in ("paid", "cancelled") and existing.state in OPEN_STATES:
            # Paid at the hospital's window, or withdrawn by the doctor: no longer the patient's to pay.
            existing.state = bill.state
        return existing, False
    row = ClinicBill(
        his_bill_id=bill.his_bill_id,
        patient_id=patient.id,
        department=bill.department,
        doctor=bill.doctor,
        lines=_lines(bill),
        total_fen=bill.total_fen,
        state="unpaid" if bill.state == "unpaid" else bill.state,
        billed_at=bill.created_at,
    )
    session.add(row)
    await session.flush()
    return row, True


async def receive_from_his(session: AsyncSession, caller: Caller, bill: HisBill) -> ClinicBill:
    """The HIS pushes a new bill: keep it and tell the patient's accounts (待缴费提醒)."""
    if "system:his" not in caller.roles:
        # A kiosk or another system must not put bills (and their SMS) in front of patients.
        raise HisOnly()
    patient = await patients.patient_by_id_number(session, bill.patient_id_number)
    if patient is None:
        raise PatientNotRegistered()
    row, is_new = await _upsert(session, patient, bill)
    if is_new and row.state == "unpaid":
        await _notify_holders(session, patient, row)
    await audit.record(
        session,
        caller,
        "clinic_bill.receive",
        target_kind="clinic_bills",
        target_id=row.his_bill_id,
        details={"total_fen": row.total_fen, "new": is_new},
    )
    return row


async def _notify_holders(session: AsyncSession, patient: Patient, bill: ClinicBill) -> None:
    accounts = (
        await session.scalars(
            select(Account)
            .join(AccountPatient, AccountPatient.account_id == Account.id)
            .where(AccountPatient.patient_id == patient.id, Account.phone.is_not(None))
        )
    ).all()
    text = (
        f"您有一笔{bill.department}的待缴费用 {bill.total_fen / 100:.2f} 元，请在互联网医院“待缴费”中支付。"
    )
    for account in accounts:
        await enqueue(
            session,
            NOTICE_JOB,
            {
                "phone": encrypt_field(account.phone or ""),
                "template": "notice",
                "params": encrypt_field(json.dumps({"text": text}, ensure_ascii=False)),
            },
        )


async def pending_bills(session: AsyncSession, caller: Caller) -> Sequence[tuple[ClinicBill, Patient]]:
    """The calling account's patients' unpaid bills, refreshed from the HIS."""
    held = await patients.holdings_of_account(session, caller.subject_id)
    his = his_payments(session, get_settings().integrations.his)
    for _holding, patient in held:
        try:
            listed = await his.clinic_bills(patient.id_number)
        except HisError:
            continue  # the HIS is down: show what was pushed before
        for bill in listed:
            await _upsert(session, patient, bill)
        await _withdraw_unlisted(session, patient, {bill.his_bill_id for bill in listed})
    patient_by_id = {patient.id: patient for _holding, patient in held}
    rows = (
        await session.scalars(
            select(ClinicBill)
            .where(ClinicBill.patient_id.in_(patient_by_id), ClinicBill.state.in_(OPEN_STATES))
            .order_by(ClinicBill.billed_at.desc())
        )
    ).all()
    return [(row, patient_by_id[row.patient_id]) for row in rows]


async def _withdraw_unlisted(session: AsyncSession, patient: Patient, listed: set[str]) -> None:
    """The HIS lists a patient's unpaid and paid bills: an open bill it no longer lists was withdrawn
    (the doctor cancelled the orders), and can no longer be paid."""
    gone = (
        await session.scalars(
            select(ClinicBill).where(
                ClinicBill.patient_id == patient.id,
                ClinicBill.state.in_(OPEN_STATES),
                ClinicBill.his_bill_id.not_in(listed),
            )
        )
    ).all()
    for bill in gone:
        bill.state = "cancelled"


async def order_for_bill(session: AsyncSession, caller: Caller, bill_id: uuid.UUID) -> Order:
    """The order that pays a bill: the open one if there is one, else a new one at the hospital's price."""
    bill = await session.get(ClinicBill, bill_id)
    held = {patient.id for _h, patient in await patients.holdings_of_account(session, caller.subject_id)}
    if bill is None or bill.patient_id not in held:
        raise BillNotFound()
    if bill.state not in OPEN_STATES:
        raise BillNotPayable()
    if bill.order_id is not None:
        open_order = await session.get(Order, bill.order_id)
        if open_order is not None and open_order.state in service.PAYABLE_STATES:
            if open_order.expires_at > now():
                return open_order
            # Past its hold time but not closed yet: close it first (asking its channel once more), so
            # that a channel which cannot close its side (UnionPay) is not left with a second payable order.
            try:
                await service.close_if_unpaid(session, open_order)
            except ChannelError as exc:
                raise service.PaymentUnavailable("暂时无法确认上一笔支付，请稍后再试") from exc
            await session.refresh(open_order)
        if open_order is not None and open_order.state in service.PAID_STATES:
            raise BillNotPayable()
    patient = await session.get_one(Patient, bill.patient_id)
    order = await service.create_order(
        session,
        caller,
        account_id=caller.subject_id,
        patient=patient,
        business_kind="clinic_bill",
        business_reference=bill.his_bill_id,
        description=f"诊间缴费 {bill.department}",
        lines=[
            service.LineIn(
                str(line["code"]),
                str(line["name"]),
                int(str(line["quantity"])),
                int(str(line["unit_price_fen"])),
            )
            for line in bill.lines
        ],
    )
    bill.order_id = order.id
    bill.state = "paying"
    await session.flush()
    return order


@service.on_paid_and_confirmed("clinic_bill")
async def _bill_paid(session: AsyncSession, order: Order) -> None:
    bill = await session.scalar(select(ClinicBill).where(ClinicBill.his_bill_id == order.business_reference))
    if bill is not None:
        bill.state = "paid"
        bill.order_id = order.id
