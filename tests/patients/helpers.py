"""Helpers for the patients tests: the cast as plain values, payloads, row counts, the audit trail,
SMS codes and small JPEGs."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth import sms
from ihos.auth.caller import Caller
from ihos.integrations.sms import list_inbox
from ihos.kit.idcard import parse_id_number
from ihos.kit.time import local_today
from ihos.models.accounts import Account, SmsCode
from ihos.models.audit import AuditEntry
from ihos.patients import service
from ihos.security.fields import blind_index
from tests.factories import bearer, id_number, phone_number

# Registry people (ihos/integrations/identity/people.json): the sandbox answers "matched".
ZHANG_WEI = {"name": "张伟", "id_number": "110105198503120135", "phone": "13900000001"}
WANG_FANG = {"name": "王芳", "id_number": "310104199007210145", "phone": "13900000002"}
# The sandbox's failing cases.
MISMATCHED = {"name": "张卫", "id_number": "110105198503120135"}
NOT_FOUND = {"name": "郑小红", "id_number": "110101199003070513"}
TIMES_OUT = {"name": "钱多多", "id_number": "110101199001010699"}
UNAVAILABLE = {"name": "冯一鸣", "id_number": "110101199102020714"}


@dataclass(frozen=True)
class PatientUser:
    """A patient account as the tests use it: plain values, safe to read after a rollback."""

    account_id: uuid.UUID
    phone: str
    username: str | None
    token: str
    caller: Caller

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass(frozen=True)
class StaffUser:
    staff_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def patient_payload(**changes: Any) -> dict[str, Any]:
    """A family patient nobody holds yet: 张小三, an adult, relation spouse."""
    payload = {"name": "张小三", "id_number": id_number(), "phone": phone_number(), "relation": "spouse"}
    payload.update(changes)
    return payload


async def add_patient(session: AsyncSession, user: PatientUser, **changes: Any) -> uuid.UUID:
    """A family patient added through the real service (setup, not the thing under test); its id.

    The relation "self" comes only from real-name verification; for setup it is bound as a staff-approved
    identity review binds it, without a document upload.
    """
    payload = patient_payload(**changes)
    if payload["relation"] == "self":
        account = await session.get(Account, user.account_id)
        parsed = parse_id_number(payload["id_number"], today=local_today())
        patient = await service._bind_self(
            session, account, name=payload["name"], parsed=parsed, phone=payload["phone"], reviewed=True
        )
        return patient.id
    held = await service.add_patient(session, user.caller, **payload)
    return held.patient.id


async def count(session: AsyncSession, model: type, *where: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def audit_trail(session: AsyncSession, **where: Any) -> list[tuple[str, str, str | None]]:
    """(action, result, target id) of the audit entries matching ``where``, oldest first."""
    query = select(AuditEntry.action, AuditEntry.result, AuditEntry.target_id).order_by(
        AuditEntry.occurred_at, AuditEntry.id
    )
    for column, value in where.items():
        query = query.where(getattr(AuditEntry, column) == value)
    return [(action, result, target) for action, result, target in (await session.execute(query)).all()]


async def audit_details(session: AsyncSession, action: str, target_id: object) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == action, AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.occurred_at)
    )
    return list(rows)


async def sms_code_for(session: AsyncSession, phone: str, purpose: str) -> str:
    """Issue a code as the SMS endpoint would and read it from its row (where the SMS is not the point)."""
    await sms.request_code(session, phone=phone, purpose=purpose, client_address=None)
    code = await session.scalar(
        select(SmsCode.code_to_send)
        .where(SmsCode.phone_index == blind_index(phone, kind="phone"), SmsCode.purpose == purpose)
        .where(SmsCode.consumed_at.is_(None))
        .order_by(SmsCode.created_at.desc())
        .limit(1)
    )
    assert code is not None
    return code


async def inbox_texts(session: AsyncSession, phone: str) -> list[str]:
    """What the phone received from the sandbox gateway, newest first."""
    return [message.text for message in await list_inbox(session, phone=phone)]


def jpeg(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 24), colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
