"""Live queues over WebSocket (QU-02, QU-05): screens and desks get a snapshot, then the events; phones
get their own positions and a notice when called.

Resuming: the client that reconnects sends ``after`` (the last ``seq`` it has, per queue) and receives the
logged events since, from the database, or a fresh snapshot when it is too far behind. The gateway
subscribes to the hub *before* reading the database, then drops what it already sent (``seq`` not newer);
a gap in the sequence, or a subscription that lagged, is filled from the log. Applying an event replaces
the entry it carries, so seeing one twice does no harm.

Phones do not receive other patients' entries: the gateway keeps each queue's order in memory (from a
snapshot and the events) and sends the patient their position and estimated wait only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth.caller import Caller
from ihos.auth.deps import current_caller
from ihos.auth.permissions import Permission
from ihos.db import get_sessionmaker
from ihos.errors import IhosError
from ihos.kit.http import transaction
from ihos.kit.time import local_today, now
from ihos.models.queueing import Queue
from ihos.queueing import events, positions, repository, screens
from ihos.queueing.events import entry_out, patient_topic, queue_topic
from ihos.realtime import get_hub
from ihos.realtime.gateway import Refused, Send

CATCH_UP_LIMIT = 500  # further behind than this: a snapshot instead of the events
MAX_QUEUES = 100
SCREEN_STATES = ("waiting", "called", "in_visit", "missed")  # a screen shows no finished visits


@asynccontextmanager
async def unit_of_work(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A short transaction of the gateway's own (a WebSocket holds no transaction while it waits)."""
    override = getattr(app.state, "session_override", None)
    if override is not None:
        async with transaction(override):
            yield override
        return
    async with get_sessionmaker()() as session, transaction(session):
        yield session


def queue_out(queue: Queue) -> dict[str, Any]:
    return {
        "id": str(queue.id),
        "kind": queue.kind,
        "name": queue.name,
        "place": queue.place,
        "department_id": str(queue.department_id) if queue.department_id else None,
    }


async def snapshot_of(
    session: AsyncSession, queue: Queue, *, states: tuple[str, ...] | None
) -> dict[str, Any]:
    """A queue as it is: its sequence number first, then its entries of today (events after this
    ``seq`` may already show in the entries; applying them again is harmless)."""
    seq = await session.scalar(select(Queue.last_seq).where(Queue.id == queue.id)) or 0
    day = local_today()
    entries = await repository.entries_of_day(session, [queue.id], day, states=states)
    return {
        "queue": queue_out(queue),
        "seq": seq,
        "entries": [entry_out(entry) for entry in entries],
        "average_minutes": await repository.average_minutes(session, queue.id, day),
    }


# -- screens and desks ----------------------------------------------------------------------------------


QueueList = Callable[[AsyncSession], Awaitable[list[Queue]]]


class QueuesFeed:
    """A snapshot of some queues (or the events since ``after``), then their events.

    A hall screen also follows its department's list of queues (``follow``: the topic, and how to read
    the list again): a room used for the first time today appears on it without a reconnection, and a
    queue switched off leaves it (``{"type": "queue_removed", "queue_id"}``)."""

    def __init__(
        self,
        app: FastAPI,
        queues: list[Queue],
        *,
        after: dict[uuid.UUID, int],
        states: tuple[str, ...] | None,
        hello: dict[str, Any],
        follow: tuple[str, QueueList] | None = None,
    ) -> None:
        self.app = app
        self.queues = {queue.id: queue for queue in queues}
        self.after = after
        self.states = states
        self.hello = hello
        self.follow = follow
        self.last: dict[uuid.UUID, int] = {}

    async def run(self, send: Send) -> None:
        await send(self.hello)
        if not self.queues:
            # Nothing to show yet (a hall whose rooms have no queue): say so, and wait quietly rather than
            # have the TV reconnect in a loop.
            await send({"type": "snapshot", "at": now().isoformat(), "queues": []})
            if self.follow is None:
                await _forever()
                return
        while await self._follow_queues(send):
            # The list changed: follow the new list; the queues already shown resume from the log.
            self.after = dict(self.last)

    async def _follow_queues(self, send: Send) -> bool:
        """Send the queues' events until the list of queues changes (True) or the hub ends (False)."""
        topics = [queue_topic(queue_id) for queue_id in self.queues]
        if self.follow is not None:
            topics.append(self.follow[0])
        async with get_hub().subscribe(*topics) as subscription:
            await self._start(send)
            async for topic, event in subscription:
                if subscription.lagged:
                    subscription.lagged = False
                    for queue_id in self.queues:
                        await self._catch_up(send, queue_id)
                if self.follow is not None and topic == self.follow[0]:
                    if await self._list_changed(send, self.follow[1]):
                        return True
                    continue
                await self._deliver(send, event)
        return False

    async def _list_changed(self, send: Send, read: QueueList) -> bool:
        """Read the list of queues again: tell the screen of a queue that left it; True when the list
        changed (the feed then follows the new list)."""
        async with unit_of_work(self.app) as session:
            current = {queue.id: queue for queue in await read(session)}
        removed = [queue_id for queue_id in self.queues if queue_id not in current]
        for queue_id in removed:
            del self.queues[queue_id]
            self.last.pop(queue_id, None)
            await send({"type": "queue_removed", "queue_id": str(queue_id)})
        added = [queue for queue_id, queue in current.items() if queue_id not in self.queues]
        for queue in added:
            self.queues[queue.id] = queue
        return bool(added or removed)

    async def _start(self, send: Send) -> None:
        fresh = []
        for queue_id in self.queues:
            if queue_id in self.after and await self._resume(send, queue_id, self.after[queue_id]):
                continue
            fresh.append(queue_id)
        if fresh:
            await self._snapshot(send, fresh)

    async def _resume(self, send: Send, queue_id: uuid.UUID, after: int) -> bool:
        """The events after ``after``; False when a snapshot is needed instead."""
        async with unit_of_work(self.app) as session:
            last_seq = await session.scalar(select(Queue.last_seq).where(Queue.id == queue_id)) or 0
            if after > last_seq:  # the client knows a future: its state is not ours
                return False
            missed = await events.events_after(session, queue_id, after, limit=CATCH_UP_LIMIT + 1)
        if len(missed) > CATCH_UP_LIMIT:
            return False
        self.last[queue_id] = after
        for event in missed:
            await send(event)
            self.last[queue_id] = event["seq"]
        return True

    async def _snapshot(self, send: Send, queue_ids: list[uuid.UUID]) -> None:
        async with unit_of_work(self.app) as session:
            parts = [
                await snapshot_of(session, self.queues[queue_id], states=self.states)
                for queue_id in queue_ids
            ]
        for part in parts:
            self.last[uuid.UUID(part["queue"]["id"])] = part["seq"]
        await send({"type": "snapshot", "at": now().isoformat(), "queues": parts})

    async def _catch_up(self, send: Send, queue_id: uuid.UUID) -> None:
        if not await self._resume(send, queue_id, self.last.get(queue_id, 0)):
            await self._snapshot(send, [queue_id])

    async def _deliver(self, send: Send, event: dict[str, Any]) -> None:
        queue_id = uuid.UUID(event["queue_id"])
        seq = int(event["seq"])
        if seq <= self.last.get(queue_id, 0):
            return
        if seq > self.last.get(queue_id, 0) + 1:
            # A gap: an event published late or lost; the log has it.
            await self._catch_up(send, queue_id)
            return
        await send(event)
        self.last[queue_id] = seq


async def _forever() -> None:
    await asyncio.Event().wait()


def _after(message: dict[str, Any]) -> dict[uuid.UUID, int]:
    given = message.get("after")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise Refused("invalid_request", "after 应为 {队列ID: 序号}", status=400)
    try:
        return {uuid.UUID(str(key)): int(value) for key, value in given.items()}
    except (ValueError, TypeError):
        raise Refused("invalid_request", "after 应为 {队列ID: 序号}", status=400) from None


def _token(message: dict[str, Any]) -> str:
    value = message.get("token")
    if not isinstance(value, str) or not value or len(value) > 200:
        raise Refused("auth_required", "请提供令牌")
    return value


async def open_screen_feed(app: FastAPI, message: dict[str, Any]) -> QueuesFeed:
    """A TV: its token names the room or hall it shows."""
    after = _after(message)
    async with unit_of_work(app) as session:
        try:
            screen = await screens.screen_of_token(session, _token(message))
        except IhosError as error:
            raise Refused.of(error) from None
        queues = await screens.queues_of_screen(session, screen)
        campus_id, department_id = screen.campus_id, screen.department_id
        hello = {
            "type": "hello",
            "screen": {
                "id": str(screen.id),
                "name": screen.name,
                "kind": "room" if screen.queue_id else "hall",
            },
        }
    follow = None
    if department_id is not None:

        async def queues_of_hall(session: AsyncSession) -> list[Queue]:
            return await repository.queues(
                session, campus_ids=frozenset({campus_id}), department_id=department_id, active_only=True
            )

        follow = (events.department_topic(department_id), queues_of_hall)
    return QueuesFeed(app, queues, after=after, states=SCREEN_STATES, hello=hello, follow=follow)


async def _caller(session: AsyncSession, token: str, address: str) -> Caller:
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    try:
        return await current_caller(session, address, credentials)
    except IhosError as error:
        raise Refused.of(error) from None


async def open_staff_feed(app: FastAPI, message: dict[str, Any], *, address: str) -> QueuesFeed:
    """A desk: the queues named (``queue_ids``), or every queue of the campuses the member of staff sees."""
    after = _after(message)
    async with unit_of_work(app) as session:
        caller = await _caller(session, _token(message), address)
        if not caller.is_staff or caller.must_change_password:
            raise Refused("staff_only", "此功能仅供医院工作人员使用", status=403)
        if not caller.has(Permission.QUEUE_READ):
            raise Refused("forbidden", "没有权限执行此操作", status=403)
        queues = await _named_queues(session, caller, message.get("queue_ids"))
    hello = {"type": "hello", "queues": [queue_out(queue) for queue in queues]}
    return QueuesFeed(app, queues, after=after, states=None, hello=hello)


async def _named_queues(session: AsyncSession, caller: Caller, given: object) -> list[Queue]:
    if given is None:
        return (await repository.queues(session, campus_ids=caller.campus_ids, active_only=True))[:MAX_QUEUES]
    if not isinstance(given, list) or len(given) > MAX_QUEUES:
        raise Refused("invalid_request", f"queue_ids 应为最多 {MAX_QUEUES} 个队列ID", status=400)
    queues = []
    for value in given:
        try:
            queue = await session.get(Queue, uuid.UUID(str(value)))
        except ValueError:
            queue = None
        if queue is None or not caller.may_see_campus(queue.campus_id):
            raise Refused("queue_not_found", "队列不存在", status=404)
        queues.append(queue)
    return queues


# -- phones ---------------------------------------------------------------------------------------------


class QueueView:
    """One queue's entries as a phone's gateway follows them: enough to tell a position, no more."""

    def __init__(self, snapshot: dict[str, Any], *, minutes_per_patient: int) -> None:
        self.queue = snapshot["queue"]
        self.seq: int = snapshot["seq"]
        self.entries: dict[str, dict[str, Any]] = {entry["id"]: entry for entry in snapshot["entries"]}
        self.minutes_per_patient = snapshot["average_minutes"] or minutes_per_patient

    def apply(self, event: dict[str, Any]) -> str:
        """Take an event in: ``new``; ``seen`` (already applied: it comes on two topics); ``gap`` (one is
        missing before it: the log has it)."""
        seq = int(event["seq"])
        if seq <= self.seq:
            return "seen"
        if seq > self.seq + 1:
            return "gap"
        self.seq = seq
        if event.get("entry"):
            self.entries[event["entry"]["id"]] = event["entry"]
        for moved in event.get("moved") or ():
            if moved["id"] in self.entries:
                self.entries[moved["id"]]["sort_key"] = moved["sort_key"]
        if event.get("average_minutes"):
            self.minutes_per_patient = int(event["average_minutes"])
        return "new"

    def waiting_order(self) -> list[str]:
        waiting = [entry for entry in self.entries.values() if entry["state"] == "waiting"]
        waiting.sort(key=lambda e: (e["sort_key"], datetime.fromisoformat(e["checked_in_at"]), e["id"]))
        return [entry["id"] for entry in waiting]


class PatientFeed:
    """A patient app: the positions of the account's patients in today's queues, and a notice when called."""

    def __init__(self, app: FastAPI, caller: Caller) -> None:
        self.app = app
        self.caller = caller

    async def run(self, send: Send) -> None:
        await send({"type": "hello"})
        while await self._follow(send):
            pass  # a new queue, a gap or a lag: reload and go on

    async def _follow(self, send: Send) -> bool:
        async with unit_of_work(self.app) as session:
            patient_ids = await repository.patient_ids_of_account(session, self.caller.subject_id)
            mine = await repository.entries_of_patients(session, patient_ids, local_today())
        topics = [patient_topic(patient_id) for patient_id in patient_ids]
        topics += [queue_topic(queue_id) for queue_id in {queue.id for _entry, queue in mine}]
        if not topics:  # an account without patients: nothing will ever change
            await send({"type": "positions", "items": []})
            await _forever()
            return False
        async with get_hub().subscribe(*topics) as subscription:
            views, own = await self._load(patient_ids)
            last = self._positions(views, own)
            await send(last)
            async for topic, event in subscription:
                if subscription.lagged:
                    subscription.lagged = False
                    if not await self._catch_up(send, views, own, list(views)):
                        return True
                view = views.get(event["queue_id"])
                if view is None:
                    return True  # a queue new to this patient
                entry = event.get("entry") or {}
                if topic.startswith("queue.patient.") and entry.get("id") not in own:
                    return True  # one of the account's patients joined a queue shown already
                applied = view.apply(event)
                if applied == "seen":
                    continue
                if applied == "gap":
                    # An event published late (by another worker) or lost: the log has it, and it may be
                    # this patient's call, whose notice a reload would never send.
                    if not await self._catch_up(send, views, own, [event["queue_id"]]):
                        return True
                else:
                    await self._notify(send, own, event)
                current = self._positions(views, own)
                if current != last:
                    await send(current)
                    last = current
        return False

    async def _catch_up(
        self, send: Send, views: dict[str, QueueView], own: set[str], queue_ids: list[str]
    ) -> bool:
        """Apply the logged events the views have not seen, with their notices; False when too far
        behind (the views must be reloaded)."""
        async with unit_of_work(self.app) as session:
            missed = {
                queue_id: await events.events_after(
                    session, uuid.UUID(queue_id), views[queue_id].seq, limit=CATCH_UP_LIMIT + 1
                )
                for queue_id in queue_ids
            }
        if any(len(logged) > CATCH_UP_LIMIT for logged in missed.values()):
            return False
        for queue_id, logged in missed.items():
            for event in logged:
                if views[queue_id].apply(event) == "new":
                    await self._notify(send, own, event)
        return True

    @staticmethod
    async def _notify(send: Send, own: set[str], event: dict[str, Any]) -> None:
        """The notice of a call of one of the account's patients."""
        entry = event.get("entry") or {}
        if entry.get("id") in own and event["kind"] in ("called", "recalled"):
            await send(
                {
                    "type": "notice",
                    "entry_id": entry["id"],
                    "queue_id": event["queue_id"],
                    "text": event["announcement"],
                    "at": event["at"],
                }
            )

    async def _load(self, patient_ids: list[uuid.UUID]) -> tuple[dict[str, QueueView], set[str]]:
        async with unit_of_work(self.app) as session:
            mine = await repository.entries_of_patients(session, patient_ids, local_today())
            views: dict[str, QueueView] = {}
            for entry, queue in mine:
                if str(queue.id) not in views:
                    snapshot = await snapshot_of(session, queue, states=None)
                    minutes = await positions.minutes_per_patient(session, queue, entry)
                    views[str(queue.id)] = QueueView(snapshot, minutes_per_patient=minutes)
        return views, {str(entry.id) for entry, _queue in mine}

    @staticmethod
    def _positions(views: dict[str, QueueView], own: set[str]) -> dict[str, Any]:
        items = []
        for view in views.values():
            order = view.waiting_order()
            for entry_id in own:
                entry = view.entries.get(entry_id)
                if entry is None:
                    continue
                ahead = (
                    order.index(entry_id)
                    if entry_id in order
                    else (0 if entry["state"] == "called" else None)
                )
                items.append(
                    {
                        "entry_id": entry_id,
                        "queue_id": view.queue["id"],
                        "queue_name": view.queue["name"],
                        "place": view.queue["place"],
                        "number": entry["number"],
                        "name": entry["name"],
                        "state": entry["state"],
                        "labels": entry["labels"],
                        "called_to": entry["called_to"],
                        "position": ahead + 1 if ahead is not None and entry["state"] == "waiting" else None,
                        "patients_ahead": ahead,
                        "estimated_wait_minutes": None if ahead is None else ahead * view.minutes_per_patient,
                    }
                )
        items.sort(key=lambda item: item["entry_id"])
        return {"type": "positions", "items": items}


async def open_patient_feed(app: FastAPI, message: dict[str, Any], *, address: str) -> PatientFeed:
    async with unit_of_work(app) as session:
        caller = await _caller(session, _token(message), address)
    if not caller.is_patient or caller.must_change_password:
        raise Refused("patients_only", "此功能仅供患者使用", status=403)
    return PatientFeed(app, caller)


async def screen_snapshot(session: AsyncSession, token: str) -> tuple[Any, list[dict[str, Any]]]:
    """What a screen shows now (the REST fallback of the WebSocket's first snapshot)."""
    screen = await screens.screen_of_token(session, token)
    queues = await screens.queues_of_screen(session, screen)
    return screen, [await snapshot_of(session, queue, states=SCREEN_STATES) for queue in queues]
