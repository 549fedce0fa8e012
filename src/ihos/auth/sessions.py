"""Server-side sessions: a random bearer token for the client, its SM3 digest in ``auth_sessions``.

Staff sessions end after the idle limit (MLPS: 30 minutes) and after an absolute lifetime; patient
sessions after an absolute lifetime. Any session can be revoked on the server at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.backoffice.rules import get_rule
from ihos.errors import Unauthenticated
from ihos.kit.ids import token as new_token
from ihos.kit.prepared import Prepared
from ihos.kit.time import now
from ihos.models.accounts import Account, AuthSession
from ihos.security.gm import sm3

# Writing last_seen_at on every request would turn reads into writes; a minute of slack is harmless
# against a 30-minute idle limit.
TOUCH_INTERVAL = timedelta(seconds=60)


class SessionExpired(Unauthenticated):
    code = "session_expired"
    default_message = "登录已过期，请重新登录"


class SessionRevoked(Unauthenticated):
    code = "session_revoked"
    default_message = "登录已失效，请重新登录"


@dataclass(frozen=True)
class IssuedSession:
    session: AuthSession
    token: str


def token_digest(token: str) -> str:
    return sm3(token.encode()).hex()


async def start(
    session: AsyncSession,
    *,
    account_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    method: str,
    client_address: str | None,
    user_agent: str | None,
) -> IssuedSession:
    """Open a session for a patient account or a member of staff and return its token (shown once)."""
    current = now()
    if staff_id is not None:
        idle = timedelta(minutes=await get_rule(session, "auth.staff_idle_minutes"))
        lifetime = timedelta(hours=await get_rule(session, "auth.staff_session_hours"))
        idle_seconds: int | None = int(idle.total_seconds())
    else:
        lifetime = timedelta(days=await get_rule(session, "auth.patient_session_days"))
        idle_seconds = None
    token = new_token()
    auth_session = AuthSession(
        token_hash=token_digest(token),
        principal_kind="staff" if staff_id else "patient",
        account_id=account_id,
        staff_id=staff_id,
        last_seen_at=current,
        idle_timeout_seconds=idle_seconds,
        expires_at=current + lifetime,
        sign_in_method=method,
        client_address=client_address,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(auth_session)
    await session.flush()
    return IssuedSession(auth_session, token)


@dataclass(frozen=True)
class LiveSession:
    """What a request needs to know about its session, and about the patient account behind it."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    idle_timeout_seconds: int | None
    account_is_active: bool | None
    account_phone: str | None
    account_username: str | None
    account_must_change_password: bool | None


# Every signed-in request runs this: built once, with the columns it needs rather than two ORM entities.
_LOOKUP = Prepared(
    select(
        AuthSession.id,
        AuthSession.account_id,
        AuthSession.staff_id,
        AuthSession.revoked_at,
        AuthSession.last_seen_at,
        AuthSession.idle_timeout_seconds,
        AuthSession.expires_at,
        Account.is_active,
        Account.phone,
        Account.username,
        Account.must_change_password,
    )
    .outerjoin(Account, Account.id == AuthSession.account_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
_TOUCH = Prepared(
    update(AuthSession)
    .where(AuthSession.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("seen"))
    .execution_options(synchronize_session=False)
)


async def resolve(session: AsyncSession, token: str) -> LiveSession:
    """The live session behind a bearer token (and its patient account); refreshes its idle timer."""
    row = await _LOOKUP.first(session, token_hash=token_digest(token))
    if row is None:
        raise Unauthenticated("登录已失效，请重新登录")
    if row.revoked_at is not None:
        raise SessionRevoked()
    current = now()
    idle_deadline = (
        row.last_seen_at + timedelta(seconds=row.idle_timeout_seconds) if row.idle_timeout_seconds else None
    )
    if current >= row.expires_at or (idle_deadline is not None and current >= idle_deadline):
        raise SessionExpired()
    if current - row.last_seen_at >= TOUCH_INTERVAL:
        await _TOUCH.rows(session, session_id=row.id, seen=current)
    return LiveSession(
        id=row.id,
        account_id=row.account_id,
        staff_id=row.staff_id,
        idle_timeout_seconds=row.idle_timeout_seconds,
        account_is_active=row.is_active,
        account_phone=row.phone,
        account_username=row.username,
        account_must_change_password=row.must_change_password,
    )


async def revoke(session: AsyncSession, session_id: uuid.UUID, *, reason: str) -> bool:
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_all(
    session: AsyncSession,
    *,
    account_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    reason: str,
    except_session_id: uuid.UUID | None = None,
) -> int:
    """Revoke every live session of one account or member of staff (password changed, account locked)."""
    if (account_id is None) == (staff_id is None):
        raise ValueError("exactly one of account_id and staff_id")
    statement = update(AuthSession).where(AuthSession.revoked_at.is_(None))
    statement = (
        statement.where(AuthSession.account_id == account_id)
        if account_id
        else statement.where(AuthSession.staff_id == staff_id)
    )
    if except_session_id is not None:
        statement = statement.where(AuthSession.id != except_session_id)
    result = await session.execute(
        statement.values(revoked_at=now(), revoked_reason=reason).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def live_sessions(
    session: AsyncSession, *, account_id: uuid.UUID | None = None, staff_id: uuid.UUID | None = None
) -> list[AuthSession]:
    statement = select(AuthSession).where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now())
    statement = (
        statement.where(AuthSession.account_id == account_id)
        if account_id
        else statement.where(AuthSession.staff_id == staff_id)
    )
    return list((await session.scalars(statement.order_by(AuthSession.created_at.desc()))).all())
