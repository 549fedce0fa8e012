"""Factories: plain async functions with keyword defaults that build through the real services.

The cast (Healthchecks style): a hospital with a campus and departments; staff in any role; patient
accounts ("owner", "stranger"); tokens come from real sessions.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth import consents, sessions
from ihos.auth.caller import Caller, command_line
from ihos.kit.idcard import check_digit
from ihos.kit.time import now
from ihos.models.accounts import Account
from ihos.models.organization import Campus, Department, Hospital, Staff
from ihos.organization import service as organisation
from ihos.security.fields import blind_index
from ihos.security.passwords import hash_password

PASSWORD = "Ihos@2026"
_sequence = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_sequence):04d}"


def phone_number() -> str:
    return f"1371{next(_sequence):07d}"


def id_number(*, birth: str = "19900101", area: str = "110105") -> str:
    """A valid GB 11643 number (odd sequence digit: male) that no registry knows."""
    first17 = f"{area}{birth}{next(_sequence) % 1000:03d}"
    return first17 + check_digit(first17)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Org:
    """A hospital with one campus and one department. Plain ids stay readable after a refused request
    has rolled back (and expired) the ORM objects."""

    hospital: Hospital
    campus: Campus
    department: Department
    admin: Caller  # a command-line caller scoped to the hospital, for setting things up
    hospital_id: uuid.UUID
    campus_id: uuid.UUID
    department_id: uuid.UUID
    campus_code: str


async def make_org(session: AsyncSession) -> Org:
    cli = command_line("test")
    hospital = await organisation.create_hospital(
        session, cli, code=unique("H"), name="测试医院", short_name=None
    )
    admin = Caller(kind="cli", label="test", hospital_id=hospital.id)
    campus = await organisation.create_campus(
        session, admin, hospital_id=hospital.id, code=unique("C"), name="本部"
    )
    department = await organisation.create_department(
        session, admin, campus_id=campus.id, parent_id=None, code=unique("D"), name="内科"
    )
    return Org(hospital, campus, department, admin, hospital.id, campus.id, department.id, campus.code)


async def make_staff(
    session: AsyncSession,
    org: Org,
    *,
    roles: list[str],
    username: str | None = None,
    must_change_password: bool = False,
    campus: Campus | None = None,
) -> Staff:
    """A member of staff who can sign in with ``PASSWORD``; administrators get an enrolled TOTP secret."""
    username = username or unique("staff")
    admin_roles = {"system_admin", "security_admin", "audit_admin"}
    if set(roles) & admin_roles:
        created = await organisation.create_administrator(
            session,
            org.admin,
            hospital_id=org.hospital.id,
            role=roles[0],
            username=username,
            name="管理员",
            staff_number=unique("A"),
            password=PASSWORD,
        )
        created.staff.totp_secret = pyotp.random_base32()
        created.staff.totp_enrolled_at = now()
    else:
        created = await organisation.create_staff(
            session,
            org.admin,
            username=username,
            roles=roles,
            department_ids=[org.department.id] if campus is None else [],
            campus_ids=[campus.id] if campus else [],
            name="王医生",
            staff_number=unique("S"),
        )
    staff = created.staff
    staff.password_hash = hash_password(PASSWORD)
    staff.must_change_password = must_change_password
    staff.password_changed_at = now()
    await session.flush()
    return staff


async def staff_token(session: AsyncSession, staff: Staff) -> str:
    issued = await sessions.start(
        session, staff_id=staff.id, method="password", client_address="203.0.113.10", user_agent="pytest"
    )
    return issued.token


async def make_account(
    session: AsyncSession,
    *,
    phone: str | None = None,
    username: str | None = None,
    password: str | None = PASSWORD,
) -> Account:
    """A patient account with the required consents, as registration leaves it."""
    phone = phone if phone is not None or username else phone_number()
    account = Account(
        username=username,
        phone=phone,
        phone_index=blind_index(phone, kind="phone") if phone else None,
        password_hash=hash_password(password) if password else None,
    )
    session.add(account)
    await session.flush()
    documents = {d: consents.current_version(d) for d in ("user_agreement", "privacy_policy", "health_data")}
    await consents.record(session, account.id, documents, client_address=None)
    return account


async def patient_token(session: AsyncSession, account: Account) -> str:
    issued = await sessions.start(
        session, account_id=account.id, method="password", client_address="203.0.113.10", user_agent="pytest"
    )
    return issued.token


def patient_caller(account: Account) -> Caller:
    return Caller(kind="patient", id=account.id, label="测试患者", client_address="203.0.113.10")


def random_id() -> uuid.UUID:
    return uuid.uuid4()


def qr_modules(data_uri: str, *, module_pixels: int = 8, border: int = 4) -> list[list[bool]]:
    """Read a QR code image (a PNG ``data:`` URI as ``ihos.kit.qrcode`` draws it) back into its modules:
    True for dark, sampled at the centre of each."""
    import base64
    import io

    from PIL import Image

    header, _, encoded = data_uri.partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(encoded))).convert("L")
    size = image.width // module_pixels - 2 * border
    assert image.width == image.height == (size + 2 * border) * module_pixels
    centre = module_pixels // 2
    return [
        [
            image.getpixel(((border + x) * module_pixels + centre, (border + y) * module_pixels + centre))
            < 128
            for x in range(size)
        ]
        for y in range(size)
    ]


def qr_of(text: str) -> list[list[bool]]:
    """The modules of the QR code of ``text``, as the standard lays them out (segno's reference)."""
    import segno

    return [[bool(module) for module in row] for row in segno.make(text, error="m", micro=False).matrix]
