"""Booking links (PT-08 "offline-booking link sent by a doctor"): after an online consultation a doctor
makes a link for one patient and one registration kind; the patient opening it sees that kind's
sessions, and books through the normal hold.

A link is a signed token, not a row: the kind, the patient, the doctor and the expiry, with an HMAC-SM3
under the link key. Only an account holding the patient can open it.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_rule
from ihos.booking import repository
from ihos.errors import Conflict, NotFound
from ihos.kit.time import local_today, now
from ihos.models.organization import Department, Staff
from ihos.models.patients import Patient
from ihos.models.scheduling import RegistrationKind
from ihos.patients import repository as patients
from ihos.security.gm import hmac_sm3
from ihos.security.keys import get_keyring

LABEL = b"booking-link|"  # keeps these signatures apart from other links signed with the same key


class LinkNotFound(NotFound):
    code = "booking_link_not_found"
    default_message = "预约链接无效"


class LinkExpired(Conflict):
    code = "booking_link_expired"
    default_message = "预约链接已过期，请联系医生重新开具"


class PatientNotFound(NotFound):
    code = "patient_not_found"
    default_message = "就诊人不存在"


class RegistrationKindNotFound(NotFound):
    code = "registration_kind_not_found"
    default_message = "号别不存在或已停用"


@dataclass(frozen=True)
class LinkClaims:
    registration_kind_id: uuid.UUID
    patient_id: uuid.UUID
    doctor_id: uuid.UUID
    expires_at: datetime


def _signature(body: str) -> str:
    return hmac_sm3(get_keyring().link_key, LABEL + body.encode()).hex()


def encode(claims: LinkClaims) -> str:
    body = ".".join(
        [
            claims.registration_kind_id.hex,
            claims.patient_id.hex,
            claims.doctor_id.hex,
            str(int(claims.expires_at.timestamp())),
        ]
    )
    return f"{body}.{_signature(body)}"


def decode(token: str) -> LinkClaims:
    """The claims of a genuine, unexpired link."""
    body, _, signature = token.rpartition(".")
    if not body or not hmac.compare_digest(_signature(body).encode(), signature.encode()):
        raise LinkNotFound()
    try:
        kind, patient, doctor, expires = body.split(".")
        claims = LinkClaims(
            uuid.UUID(hex=kind),
            uuid.UUID(hex=patient),
            uuid.UUID(hex=doctor),
            datetime.fromtimestamp(int(expires), UTC),
        )
    except ValueError:
        raise LinkNotFound() from None
    # Checked after the signature, so "expired" is only ever said of a link we really issued.
    if now() >= claims.expires_at:
        raise LinkExpired()
    return claims


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime
    kind: RegistrationKind
    patient: Patient


async def create_link(
    session: AsyncSession,
    caller: Caller,
    *,
    patient_id: uuid.UUID,
    registration_kind_id: uuid.UUID,
    valid_days: int,
) -> IssuedLink:
    patient = await session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound()
    kind = await session.get(RegistrationKind, registration_kind_id)
    if kind is None or not kind.is_active:
        raise RegistrationKindNotFound()
    expires_at = (now() + timedelta(days=valid_days)).replace(microsecond=0)
    token = encode(LinkClaims(kind.id, patient.id, caller.subject_id, expires_at))
    await audit.record(
        session,
        caller,
        "booking_link.create",
        target_kind="patients",
        target_id=patient.id,
        details={"registration_kind": str(kind.id), "expires_at": expires_at.isoformat()},
    )
    return IssuedLink(token, expires_at, kind, patient)


@dataclass(frozen=True)
class OpenedLink:
    claims: LinkClaims
    kind: RegistrationKind
    department: Department
    doctor: Staff | None  # who made the link
    patient: Patient
    sessions: list[repository.SessionPlaces]


async def open_link(session: AsyncSession, caller: Caller, token: str) -> OpenedLink:
    """What the link offers the patient: the kind's sessions over the booking window, with places left."""
    claims = decode(token)
    if await patients.holding(session, caller.subject_id, claims.patient_id) is None:
        raise LinkNotFound()  # another account's link: say no more than for a forged one
    kind = await session.get(RegistrationKind, claims.registration_kind_id)
    if kind is None or not kind.is_active:
        raise RegistrationKindNotFound()
    days_ahead = await get_rule(session, "booking.days_ahead")
    today = local_today()
    sessions = await repository.sessions_with_places(
        session,
        channel="app",
        at=now(),
        date_from=today,
        date_to=today + timedelta(days=days_ahead),
        registration_kind_id=kind.id,
    )
    return OpenedLink(
        claims=claims,
        kind=kind,
        department=await session.get_one(Department, kind.department_id),
        doctor=await session.get(Staff, claims.doctor_id),
        patient=await session.get_one(Patient, claims.patient_id),
        sessions=sessions,
    )
