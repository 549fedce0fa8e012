"""Booking messages to patients (PT-25) by SMS through the notice job: booking confirmed, the day-before
reminder, suspension, booking ban and its lifting.

A booking's messages go to the account that made it, or (window, kiosk and HIS bookings) to the phone on
the patient's record; a ban's go to the patient's phone and to every account holding the patient. The
phone and the text travel encrypted in the job payload, as every notice does.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.jobs import enqueue
from ihos.kit.time import hospital_zone
from ihos.models.accounts import Account
from ihos.models.booking import Booking, BookingBan
from ihos.models.organization import Campus
from ihos.models.patients import AccountPatient, Patient
from ihos.models.scheduling import ClinicSession, RegistrationKind, Slot
from ihos.security.fields import encrypt_field

NOTICE_JOB = "sms.send_notice"
MAX_TEXT = 200  # the gateway's cap on one template variable
PERIODS = {"morning": "上午", "afternoon": "下午", "evening": "晚上"}


def local(at: datetime) -> datetime:
    return at.astimezone(hospital_zone())


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


async def describe(session: AsyncSession, booking: Booking) -> str:
    """ "11月29日上午 08:30-09:00 本部 心内科专家门诊 第3号" — what the patient booked, in a line."""
    clinic = await session.get_one(ClinicSession, booking.session_id)
    kind = await session.get_one(RegistrationKind, clinic.registration_kind_id)
    campus = await session.get_one(Campus, clinic.campus_id)
    slot = await session.get_one(Slot, booking.slot_id)
    return (
        f"{clinic.session_date:%m月%d日}{PERIODS.get(clinic.period, '')} "
        f"{local(slot.starts_at):%H:%M}-{local(slot.ends_at):%H:%M} "
        f"{campus.name} {kind.name} 第{booking.seq}号"
    )


async def _booking_phones(session: AsyncSession, booking: Booking) -> list[str]:
    if booking.account_id is not None:
        account = await session.get(Account, booking.account_id)
        if account is not None and account.phone:
            return [account.phone]
    patient = await session.get_one(Patient, booking.patient_id)
    return [patient.phone]


async def _patient_phones(session: AsyncSession, patient_id: uuid.UUID) -> list[str]:
    patient = await session.get_one(Patient, patient_id)
    holders = (
        await session.scalars(
            select(Account.phone)
            .join(AccountPatient, AccountPatient.account_id == Account.id)
            .where(AccountPatient.patient_id == patient_id, Account.phone.is_not(None))
            .order_by(AccountPatient.created_at)
        )
    ).all()
    return list(dict.fromkeys([patient.phone, *[phone for phone in holders if phone]]))


async def send(session: AsyncSession, phones: list[str], text: str, *, dedupe_key: str | None = None) -> None:
    """Queue ``text`` to each phone (once per ``dedupe_key`` and phone, when given)."""
    for number, phone in enumerate(phones):
        await enqueue(
            session,
            NOTICE_JOB,
            {
                "phone": encrypt_field(phone),
                "template": "notice",
                "params": encrypt_field(json.dumps({"text": text[:MAX_TEXT]}, ensure_ascii=False)),
            },
            dedupe_key=f"{dedupe_key}:{number}" if dedupe_key else None,
        )


async def booking_confirmed(session: AsyncSession, booking: Booking) -> None:
    text = (
        f"您已预约成功：{await describe(session, booking)}，预约号{booking.booking_number}。"
        "请按时就诊，如需取消请提前在“我的预约”中办理。"
    )
    await send(
        session, await _booking_phones(session, booking), text, dedupe_key=f"booking.confirmed:{booking.id}"
    )


async def reminder(session: AsyncSession, booking: Booking, *, deadline_hours: int) -> None:
    text = (
        f"就诊提醒：您预约了明天 {await describe(session, booking)}。请携带身份证件按时就诊；"
        f"如不能前往，请在就诊前{deadline_hours}小时前取消，逾期取消不退挂号费，爽约将计入信用记录。"
    )
    await send(
        session, await _booking_phones(session, booking), text, dedupe_key=f"booking.reminder:{booking.id}"
    )


async def suspended(session: AsyncSession, booking: Booking, *, refund_fen: int, at_counter: bool) -> None:
    if refund_fen and at_counter:
        money = f"请凭缴费凭证到挂号窗口退还挂号费{yuan(refund_fen)}元。"
    elif refund_fen:
        money = f"挂号费{yuan(refund_fen)}元将原路退回。"
    else:
        money = ""
    text = (
        f"停诊通知：您预约的 {await describe(session, booking)} 因故停诊，预约已取消。"
        f"{money}给您带来不便，敬请谅解。"
    )
    await send(
        session, await _booking_phones(session, booking), text, dedupe_key=f"booking.suspended:{booking.id}"
    )


async def banned(session: AsyncSession, ban: BookingBan) -> None:
    until = local(ban.ends_at)
    text = f"预约限制通知：{ban.reason}，{until:%Y年%m月%d日}前不能预约挂号。如有疑问请联系医院客服。"
    await send(
        session, await _patient_phones(session, ban.patient_id), text, dedupe_key=f"booking.banned:{ban.id}"
    )


async def ban_lifted(session: AsyncSession, ban: BookingBan) -> None:
    text = "预约限制解除通知：您的预约挂号限制已解除，现在可以正常预约。请按时就诊，如不能前往请提前取消。"
    await send(
        session, await _patient_phones(session, ban.patient_id), text, dedupe_key=f"booking.lifted:{ban.id}"
    )
