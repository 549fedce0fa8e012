"""Queue screens (叫号屏, QU-02): a TV at a room's door shows one queue; a hall's big screen every queue of
a department. A screen has no staff account: it signs in with its token alone, which is shown once when
the screen is registered (or its token renewed) and stored only as its SM3 digest. Deactivating a
screen stops its token at the next connection.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.errors import NotFound, Unauthenticated
from ihos.kit.ids import token
from ihos.kit.time import now
from ihos.models.organization import Department
from ihos.models.queueing import Queue, QueueScreen
from ihos.queueing import repository
from ihos.queueing.service import InvalidQueue, staff_queue
from ihos.security.gm import sm3

TOKEN_PREFIX = "ihs_"


class ScreenNotFound(NotFound):
    code = "queue_screen_not_found"
    default_message = "叫号屏不存在"


class ScreenTokenInvalid(Unauthenticated):
    code = "screen_token_invalid"
    default_message = "叫号屏令牌无效或已停用，请联系信息科"


@dataclass(frozen=True)
class IssuedScreen:
    screen: QueueScreen
    token: str


def token_digest(value: str) -> str:
    return sm3(value.encode()).hex()


async def create_screen(
    session: AsyncSession,
    caller: Caller,
    *,
    name: str,
    queue_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
) -> IssuedScreen:
    if queue_id is not None:
        queue = await staff_queue(session, caller, queue_id)
        campus_id = queue.campus_id
    else:
        department = await session.get(Department, department_id) if department_id else None
        if department is None or not caller.may_see_campus(department.campus_id):
            raise InvalidQueue("科室不存在")
        campus_id = department.campus_id
    secret = TOKEN_PREFIX + token(24)
    screen = QueueScreen(
        name=name,
        token_hash=token_digest(secret),
        campus_id=campus_id,
        queue_id=queue_id,
        department_id=department_id,
        created_by=caller.id,
    )
    session.add(screen)
    await session.flush()
    await audit.record(
        session,
        caller,
        "queue_screen.create",
        target_kind="queue_screens",
        target_id=screen.id,
        details={
            "name": name,
            "queue": str(queue_id) if queue_id else None,
            "department": str(department_id) if department_id else None,
        },
    )
    return IssuedScreen(screen, secret)


async def _screen(session: AsyncSession, caller: Caller, screen_id: uuid.UUID) -> QueueScreen:
    screen = await session.get(QueueScreen, screen_id)
    if screen is None or not caller.may_see_campus(screen.campus_id):
        raise ScreenNotFound()
    return screen


async def renew_token(session: AsyncSession, caller: Caller, screen_id: uuid.UUID) -> IssuedScreen:
    """A new token for the screen (the old one stops working at once)."""
    screen = await _screen(session, caller, screen_id)
    secret = TOKEN_PREFIX + token(24)
    screen.token_hash = token_digest(secret)
    await session.flush()
    await audit.record(
        session, caller, "queue_screen.renew", target_kind="queue_screens", target_id=screen.id
    )
    return IssuedScreen(screen, secret)


async def set_active(
    session: AsyncSession, caller: Caller, screen_id: uuid.UUID, *, is_active: bool
) -> QueueScreen:
    screen = await _screen(session, caller, screen_id)
    screen.is_active = is_active
    await session.flush()
    await audit.record(
        session,
        caller,
        "queue_screen.activate" if is_active else "queue_screen.deactivate",
        target_kind="queue_screens",
        target_id=screen.id,
    )
    return screen


async def list_screens(session: AsyncSession, caller: Caller) -> list[QueueScreen]:
    conditions = [] if caller.campus_ids is None else [QueueScreen.campus_id.in_(caller.campus_ids)]
    rows = await session.scalars(select(QueueScreen).where(*conditions).order_by(QueueScreen.created_at))
    return list(rows.all())


async def screen_of_token(session: AsyncSession, value: str) -> QueueScreen:
    """The active screen whose token this is; marks it seen."""
    screen = await session.scalar(select(QueueScreen).where(QueueScreen.token_hash == token_digest(value)))
    if screen is None or not screen.is_active:
        raise ScreenTokenInvalid()
    screen.last_seen_at = now()
    await session.flush()
    return screen


async def queues_of_screen(session: AsyncSession, screen: QueueScreen) -> list[Queue]:
    if screen.queue_id is not None:
        queue = await session.get(Queue, screen.queue_id)
        return [queue] if queue is not None and queue.is_active else []
    return await repository.queues(
        session,
        campus_ids=frozenset({screen.campus_id}),
        department_id=screen.department_id,
        active_only=True,
    )
