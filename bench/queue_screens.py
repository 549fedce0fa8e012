"""Queue screens: how fast a doctor's call reaches the waiting room's screens and the called patient's phone.

Starts ``ihos serve`` (several worker processes, Redis as the event hub between them) on a fresh PostgreSQL
database with one campus of D departments and Q consulting rooms: a screen at each room's door, a hall
screen per department showing every room of it (50 screens: 5 halls, 45 rooms), and 2,000 patients
checked in to the rooms, each with a phone signed in. Every screen and phone holds a WebSocket to the live
queue feeds (``/api/v1/queue-stream/screen`` with its screen token, ``/queue-stream/me`` with the patient's
session token), from a few client processes. Doctors then call next through the HTTP API, first at a
steady rate, then as fast as they can (each doctor one call after the other).

Prints, per round: calls per second achieved; call-to-screen latency (p50/p99/max, from sending the HTTP
call to the moment the last screen subscribed to that queue received the ``called`` event) and
call-to-phone latency (to the called patient's ``notice``). Then the messages delivered, what went
missing (must all be 0: a screen whose sequence numbers skipped or ended behind the queue's log, a called
patient's phone without its notice, a phone showing a position other than the database's, a lost
connection, a failed call, a worker process that uvicorn found dead or hung and restarted), and the CPU
time the server processes and PostgreSQL spent per call (fan-out included) and per connection.

Timestamps are CLOCK_MONOTONIC (``time.monotonic``), one clock for every process of the machine, so the
doctors' send times (this process) and the arrivals (the client processes) compare directly. The clients
use ``websockets``, which uvicorn[standard] already installs. Results and their reading are in
docs/benchmarks.md; on a loaded machine run it with ``--workers 1`` (uvicorn kills a worker that does not
answer its health check in time, 30 s with ``ihos serve``, and with it a thousand WebSockets).

    .venv/bin/python bench/queue_screens.py [--screens 50] [--phones 2000] [--calls 600] [--rate 5]
        [--workers 2] [--clients 2] [--hub redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect

from ihos.auth import sessions
from ihos.auth.caller import Caller, command_line
from ihos.auth.sessions import token_digest
from ihos.db import commit, create_engine, dispose_engine, get_sessionmaker
from ihos.kit.idcard import check_digit
from ihos.kit.ids import token as new_token
from ihos.kit.ids import uuid7
from ihos.kit.time import local_today, now
from ihos.migrations import upgrade
from ihos.models.accounts import Account, AuthSession
from ihos.models.patients import AccountPatient, Patient
from ihos.models.queueing import Queue, QueueEntry, QueueScreen
from ihos.organization import service as organisation
from ihos.queueing import screens as screen_tokens
from ihos.queueing.ordering import STEP
from ihos.queueing.service import live_key, scope_key
from ihos.security.fields import blind_index
from ihos.security.keys import generate_key_file
from ihos.security.masking import mask_name

DATABASE_URL = os.environ.get(
    "IHOS_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/ihos_qbench"
)
REDIS_URL = os.environ.get("IHOS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DEPARTMENTS = ["心血管内科", "呼吸内科", "消化内科", "内分泌科", "神经内科", "肾内科", "血液科", "风湿免疫科"]
OPENING_AT_ONCE = 40  # connections opening at the same time, per client process (each reads a snapshot)
SETTLE_SECONDS = 30.0  # after the last answer: what has not arrived by then is missing
TICKS = os.sysconf("SC_CLK_TCK")


# -- the hospital, its screens, doctors and patients ------------------------------------------------------


@dataclass(frozen=True)
class ScreenSpec:
    token: str
    queue_ids: tuple[str, ...]


@dataclass(frozen=True)
class PhoneSpec:
    token: str
    entry_id: str
    queue_id: str


@dataclass
class Hospital:
    queue_ids: list[str] = field(default_factory=list)
    doctors: dict[str, str] = field(default_factory=dict)  # queue id → the doctor's session token
    screens: list[ScreenSpec] = field(default_factory=list)
    phones: list[PhoneSpec] = field(default_factory=list)


async def fresh_database() -> None:
    url = make_url(DATABASE_URL)
    admin = create_engine(
        url.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    await admin.dispose()
    engine = create_engine(DATABASE_URL)
    await upgrade(engine)
    await engine.dispose()


async def rooms(session: AsyncSession, hospital: Hospital, halls: int, room_count: int) -> None:
    """One campus with ``halls`` departments, each with a hall screen showing its rooms, and ``room_count``
    rooms (queues) with a screen at the door and a doctor signed in."""
    created = await organisation.create_hospital(
        session, command_line(), code="QB", name="压测医院", short_name=None
    )
    admin = Caller(kind="cli", label="queue bench", hospital_id=created.id)
    campus = await organisation.create_campus(session, admin, hospital_id=created.id, code="C", name="本部")
    departments = []
    for n in range(halls):
        name = DEPARTMENTS[n] if n < len(DEPARTMENTS) else f"科室{n}"
        departments.append(
            await organisation.create_department(
                session, admin, campus_id=campus.id, parent_id=None, code=f"D{n}", name=name
            )
        )
    rooms_of: dict[uuid.UUID, list[str]] = {department.id: [] for department in departments}
    for n in range(room_count):
        department = departments[n % halls]
        code = f"{n + 1}诊室"
        queue = Queue(
            kind="room", campus_id=campus.id, department_id=department.id, code=code,
            name=f"{department.name} {code}", place=code, rules={}, is_active=True, last_seq=0,
            scope_key=scope_key("room", campus_id=campus.id, department_id=department.id, code=code),
        )  # fmt: skip
        session.add(queue)
        await session.flush()
        hospital.queue_ids.append(str(queue.id))
        rooms_of[department.id].append(str(queue.id))
        hospital.screens.append(screen(session, campus.id, f"{code}门口", queue_id=queue.id))
        hospital.doctors[str(queue.id)] = await doctor(session, admin, department.id, n)
    for department in departments:
        hall = screen(session, campus.id, f"{department.name}候诊大厅", department_id=department.id)
        hospital.screens.append(ScreenSpec(hall.token, tuple(rooms_of[department.id])))


def screen(
    session: AsyncSession,
    campus_id: uuid.UUID,
    name: str,
    *,
    queue_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> ScreenSpec:
    """A registered screen and its token (a hall's queues are filled in by the caller)."""
    secret = screen_tokens.TOKEN_PREFIX + new_token(24)
    session.add(
        QueueScreen(
            name=name,
            token_hash=screen_tokens.token_digest(secret),
            campus_id=campus_id,
            queue_id=queue_id,
            department_id=department_id,
        )
    )
    return ScreenSpec(secret, (str(queue_id),) if queue_id else ())


async def doctor(session: AsyncSession, admin: Caller, department_id: uuid.UUID, n: int) -> str:
    """A doctor of the department, signed in for the day; their session token."""
    created = await organisation.create_staff(
        session, admin, username=f"doctor{n}", roles=["doctor"], department_ids=[department_id],
        campus_ids=[], name=f"医生{n}", staff_number=f"S{n:04d}",
    )  # fmt: skip
    created.staff.must_change_password = False
    created.staff.password_changed_at = now()
    issued = await sessions.start(
        session, staff_id=created.staff.id, method="password", client_address="127.0.0.1", user_agent="bench"
    )
    issued.session.idle_timeout_seconds = None
    return issued.token


def patient_rows(n: int, at: datetime) -> tuple[dict[str, Any], ...]:
    """An account, its self patient, the holding and a signed-in session, as rows; the token last."""
    account_id, patient_id = uuid7(), uuid7()
    born = date(1950, 1, 1) + timedelta(days=n)
    first17 = f"110105{born:%Y%m%d}456"
    id_number = first17 + check_digit(first17)
    phone = f"136{n:08d}"
    token = new_token()
    stamps = {"created_at": at, "updated_at": at}
    return (
        {
            "id": account_id, "phone": phone, "phone_index": blind_index(phone, kind="phone"),
            "real_name_status": "verified", "must_change_password": False, "failed_sign_ins": 0,
            "is_active": True, **stamps,
        },
        {
            "id": patient_id, "name": f"候诊{n}", "id_number": id_number,
            "id_number_index": blind_index(id_number, kind="id_number"), "sex": "female",
            "birth_date": born, "phone": phone, "phone_index": blind_index(phone, kind="phone"),
            "identity_status": "verified", **stamps,
        },
        {
            "id": uuid7(), "account_id": account_id, "patient_id": patient_id, "relation": "self",
            "is_default": True, "self_account_key": account_id, "self_patient_key": patient_id, **stamps,
        },
        {
            "id": uuid7(), "token_hash": token_digest(token), "principal_kind": "patient",
            "account_id": account_id, "last_seen_at": at, "expires_at": at + timedelta(days=1),
            "sign_in_method": "password", **stamps,
        },
        {"token": token, "patient_id": patient_id, "name": f"候诊{n}"},
    )  # fmt: skip


async def waiting_patients(session: AsyncSession, hospital: Hospital, count: int) -> None:
    """``count`` patients with a phone signed in, checked in to the rooms in turn (walk-ins by number)."""
    at, day = now(), local_today()
    accounts, patients, holdings, signed_in, people = zip(
        *(patient_rows(n, at) for n in range(count)), strict=True
    )
    entries = []
    for n, person in enumerate(people):
        queue_id = uuid.UUID(hospital.queue_ids[n % len(hospital.queue_ids)])
        number = n // len(hospital.queue_ids) + 1
        entry_id = uuid7()
        entries.append(
            {
                "id": entry_id, "queue_id": queue_id, "queue_date": day, "patient_id": person["patient_id"],
                "display_name": mask_name(person["name"]), "display_number": number, "kind": "walk_in",
                "state": "waiting", "live_key": live_key(queue_id, person["patient_id"], day),
                "sort_key": number * STEP, "checked_in_at": at, "channel": "nurse", "priority_level": 0,
                "is_late": False, "is_return": False, "awaiting_return": False, "miss_count": 0,
                "call_count": 0, "created_at": at, "updated_at": at,
            }
        )  # fmt: skip
        hospital.phones.append(PhoneSpec(person["token"], str(entry_id), str(queue_id)))
    # Bulk Core inserts (the column types encrypt the personal fields as the ORM would).
    for model, rows in (
        (Account, accounts),
        (Patient, patients),
        (AccountPatient, holdings),
        (AuthSession, signed_in),
    ):
        await session.execute(insert(model.__table__), list(rows))
    await session.execute(insert(QueueEntry.__table__), entries)


async def seed(screen_count: int, phone_count: int, workdir: Path) -> Hospital:
    generate_key_file(workdir / "keys.json", overwrite=True)
    await fresh_database()
    halls = max(1, round(screen_count / 10))
    hospital = Hospital()
    async with get_sessionmaker()() as session:
        await rooms(session, hospital, halls, screen_count - halls)
        await waiting_patients(session, hospital, phone_count)
        await commit(session)
    await dispose_engine()
    return hospital


# -- the server and what it costs ---------------------------------------------------------------------------


def start_server(port: int, workers: int, hub: str | None, workdir: Path) -> subprocess.Popen[bytes]:
    # INFO: uvicorn's supervisor tells at this level when it finds a worker dead or hung and restarts it.
    env = os.environ | {"IHOS_RUN_JOBS_IN_APP": "false", "IHOS_LOG_LEVEL": "INFO"}
    if hub:
        env["IHOS_REDIS_URL"] = hub
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "ihos.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "serve.log").open("w"),
    )
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"ihos serve did not start: see {workdir / 'serve.log'}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process has used so far."""
    spent = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return spent


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [server.pid, *map(int, children)]


def backend_pids() -> list[int]:
    """PostgreSQL's processes serving the benchmark's database."""
    database = make_url(DATABASE_URL).database
    query = f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"  # noqa: S608 - our own name
    output = subprocess.run(  # noqa: S603
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc", query],  # noqa: S607
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [int(pid) for pid in output.split()]


# -- screens and phones (in client processes) ---------------------------------------------------------------


class Listener:
    """One WebSocket client: sends its token, waits for its first state, then notes what arrives."""

    path = ""

    def __init__(self, token: str) -> None:
        self.token = token
        self.ready = asyncio.Event()
        self.messages = 0  # after the first state
        self.failure: str | None = None

    async def run(self, base: str, opening: asyncio.Semaphore) -> None:
        try:
            async with opening:
                websocket = await connect(base + self.path, max_size=None, open_timeout=60)
                await websocket.send(json.dumps({"token": self.token}))
                while not self.ready.is_set():
                    self.take(json.loads(await websocket.recv()), time.monotonic())
            async with websocket:
                async for raw in websocket:
                    at = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
                    self.messages += 1
                    self.take(json.loads(raw), at)
            self.failure = self.failure or "closed by the server"
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.failure = self.failure or f"{type(error).__name__}: {error}"
        finally:
            self.ready.set()

    def take(self, message: dict[str, Any], at: float) -> None:
        if message.get("type") == "error":
            self.failure = f"error {message.get('error')}"


class Screen(Listener):
    """A TV: checks that each queue's sequence numbers follow on, notes when each call arrived."""

    path = "/api/v1/queue-stream/screen"

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.last: dict[str, int] = {}
        self.called: dict[str, float] = {}  # entry id → arrival of its "called" event
        self.gaps = 0
        self.snapshots = 0

    def take(self, message: dict[str, Any], at: float) -> None:
        super().take(message, at)
        if message["type"] == "snapshot":
            self.snapshots += 1
            self.last.update({part["queue"]["id"]: part["seq"] for part in message["queues"]})
            self.ready.set()
        elif message["type"] == "event":
            queue_id, seq = message["queue_id"], message["seq"]
            if seq != self.last.get(queue_id, 0) + 1:
                self.gaps += 1
            self.last[queue_id] = max(seq, self.last.get(queue_id, 0))
            if message["kind"] == "called":
                self.called.setdefault(message["entry"]["id"], at)

    def caught_up(self, last_seq: dict[str, int]) -> bool:
        return all(seq >= last_seq[queue_id] for queue_id, seq in self.last.items())

    def result(self) -> dict[str, Any]:
        return {
            "token": self.token, "last": self.last, "called": self.called, "gaps": self.gaps,
            "snapshots": self.snapshots, "messages": self.messages, "failure": self.failure,
        }  # fmt: skip


class Phone(Listener):
    """A patient's app: notes when the notice came and the position shown last."""

    path = "/api/v1/queue-stream/me"

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.notices: dict[str, float] = {}
        self.shown: dict[str, tuple[str, int | None]] = {}  # entry id → (state, patients ahead)

    def take(self, message: dict[str, Any], at: float) -> None:
        super().take(message, at)
        if message["type"] == "positions":
            self.shown = {
                item["entry_id"]: (item["state"], item["patients_ahead"]) for item in message["items"]
            }
            self.ready.set()
        elif message["type"] == "notice":
            self.notices.setdefault(message["entry_id"], at)

    def heard(self, called: set[str]) -> bool:
        return all(entry_id in self.notices for entry_id in self.shown if entry_id in called)

    def result(self) -> dict[str, Any]:
        return {
            "token": self.token, "notices": self.notices, "shown": self.shown, "messages": self.messages,
            "failure": self.failure,
        }  # fmt: skip


def client_process(connection: Connection, base: str) -> None:
    """A client process: receives its screens' and phones' tokens, connects them, reports ready, and
    sends back what each received once told to stop."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    screen_tokens_, phone_tokens = connection.recv()
    asyncio.run(listen(connection, base, screen_tokens_, phone_tokens))


async def listen(connection: Connection, base: str, screen_list: list[str], phone_list: list[str]) -> None:
    screens = [Screen(token) for token in screen_list]
    phones = [Phone(token) for token in phone_list]
    opening = asyncio.Semaphore(OPENING_AT_ONCE)
    tasks = [asyncio.create_task(client.run(base, opening)) for client in [*screens, *phones]]
    await asyncio.gather(*(client.ready.wait() for client in [*screens, *phones]))
    connection.send("ready")
    receive = asyncio.get_running_loop().run_in_executor
    last_seq, called = await receive(None, connection.recv)
    await settle(screens, phones, last_seq, called)
    connection.send("settled")
    await receive(None, connection.recv)  # "close"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    used = resource.getrusage(resource.RUSAGE_SELF)
    connection.send(
        {
            "screens": [client.result() for client in screens],
            "phones": [client.result() for client in phones],
            "cpu": used.ru_utime + used.ru_stime,
        }
    )


async def settle(
    screens: list[Screen], phones: list[Phone], last_seq: dict[str, int], called: set[str]
) -> None:
    """Wait until every screen has every queue's last event and every called patient's phone its notice,
    for ``SETTLE_SECONDS`` at most; what has not arrived by then is missing."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        screens_done = all(screen.caught_up(last_seq) for screen in screens if not screen.failure)
        if screens_done and all(phone.heard(called) for phone in phones if not phone.failure):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # positions are sent just after the notices: let the last ones in


def start_clients(hospital: Hospital, base: str, count: int) -> list[tuple[Any, Connection]]:
    """``count`` client processes sharing the screens and phones; returns once every one is connected."""
    context = multiprocessing.get_context("spawn")
    started = []
    for n in range(count):
        ours, theirs = context.Pipe()
        process = context.Process(target=client_process, args=(theirs, base), daemon=True)
        process.start()
        ours.send(
            ([s.token for s in hospital.screens[n::count]], [p.token for p in hospital.phones[n::count]])
        )
        started.append((process, ours))
    for _process, connection in started:
        if connection.recv() != "ready":
            raise SystemExit("a client process failed to connect")
    return started


def settle_clients(started: list[tuple[Any, Connection]], last_seq: dict[str, int], called: set[str]) -> None:
    """Returns once every client process has what it should (or ``SETTLE_SECONDS`` passed)."""
    for _process, connection in started:
        connection.send((last_seq, called))
    for _process, connection in started:
        connection.recv()


def stop_clients(started: list[tuple[Any, Connection]]) -> dict[str, Any]:
    """Closes the connections; what each client received."""
    gathered: dict[str, Any] = {"screens": [], "phones": [], "cpu": 0.0}
    for _process, connection in started:
        connection.send("close")
    for process, connection in started:
        part = connection.recv()
        gathered["screens"] += part["screens"]
        gathered["phones"] += part["phones"]
        gathered["cpu"] += part["cpu"]
        process.join(timeout=10)
    return gathered


# -- the doctors ---------------------------------------------------------------------------------------------


@dataclass
class Call:
    queue_id: str
    sent: float
    answered: float = 0.0
    status: int = 0
    entry_id: str | None = None


async def call_next(http: httpx.AsyncClient, token: str, queue_id: str) -> Call:
    call = Call(queue_id, time.monotonic())
    try:
        answer = await http.post(
            f"/api/v1/queues/{queue_id}/call-next", headers={"Authorization": f"Bearer {token}"}
        )
        call.status = answer.status_code
        if answer.status_code == 200:
            call.entry_id = answer.json()["entry"]["id"]
    except httpx.HTTPError:
        call.status = -1
    call.answered = time.monotonic()
    return call


async def steady_round(http: httpx.AsyncClient, hospital: Hospital, calls: int, rate: float) -> list[Call]:
    """``calls`` calls at ``rate`` a second, the rooms in turn, whether or not the last has answered."""
    started, tasks = time.monotonic(), []
    for n in range(calls):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        queue_id = hospital.queue_ids[n % len(hospital.queue_ids)]
        tasks.append(asyncio.create_task(call_next(http, hospital.doctors[queue_id], queue_id)))
    return list(await asyncio.gather(*tasks))


async def rush_round(http: httpx.AsyncClient, hospital: Hospital, calls: int, skip: int) -> list[Call]:
    """``calls`` calls, every doctor calling again as soon as the last call answers. ``skip``: the calls
    of the steady round, so that the rooms' shares stay even."""
    rooms = len(hospital.queue_ids)
    shares = [len(range((skip - n) % rooms, calls, rooms)) for n in range(rooms)]

    async def doctor(queue_id: str, share: int) -> list[Call]:
        return [await call_next(http, hospital.doctors[queue_id], queue_id) for _ in range(share)]

    made = await asyncio.gather(*(doctor(q, s) for q, s in zip(hospital.queue_ids, shares, strict=True)))
    return [call for calls_of_room in made for call in calls_of_room]


# -- checking and reporting ------------------------------------------------------------------------------


async def database_state() -> tuple[dict[str, int], dict[str, tuple[str, int | None]]]:
    """Each queue's last sequence number, and each entry's (state, patients ahead) as a phone should show."""
    engine = create_engine(DATABASE_URL)
    async with engine.connect() as connection:
        last = {str(q): seq for q, seq in (await connection.execute(text("SELECT id, last_seq FROM queues")))}
        rows = await connection.execute(
            text(
                "SELECT id, state, CASE WHEN state = 'waiting' THEN (row_number() OVER ("
                "PARTITION BY queue_id, state ORDER BY sort_key, checked_in_at, id)) - 1 "
                "WHEN state = 'called' THEN 0 END FROM queue_entries"
            )
        )
        entries = {str(entry_id): (state, ahead) for entry_id, state, ahead in rows}
    await engine.dispose()
    return last, entries


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def spread(values: list[float]) -> str:
    if not values:
        return "none arrived"
    milliseconds = [1000 * value for value in values]
    p50, p99 = percentile(milliseconds, 0.50), percentile(milliseconds, 0.99)
    return f"{p50:.0f} / {p99:.0f} / {max(milliseconds):.0f} ms"


@dataclass
class Deliveries:
    """Each call's arrival at its queue's screens and at the called patient's phone."""

    to_screens: list[float] = field(default_factory=list)
    to_phones: list[float] = field(default_factory=list)
    screens_missed: int = 0
    phones_missed: int = 0


def deliveries(calls: list[Call], hospital: Hospital, clients: dict[str, Any]) -> Deliveries:
    screens_of: dict[str, list[dict[str, Any]]] = {queue_id: [] for queue_id in hospital.queue_ids}
    by_token = {result["token"]: result for result in clients["screens"]}
    for spec in hospital.screens:
        for queue_id in spec.queue_ids:
            screens_of[queue_id].append(by_token[spec.token])
    notices = {entry: at for phone in clients["phones"] for entry, at in phone["notices"].items()}
    found = Deliveries()
    for call in calls:
        if call.entry_id is None:
            continue
        arrivals = [
            screen["called"][call.entry_id]
            for screen in screens_of[call.queue_id]
            if call.entry_id in screen["called"]
        ]
        found.screens_missed += len(screens_of[call.queue_id]) - len(arrivals)
        if len(arrivals) == len(screens_of[call.queue_id]):
            found.to_screens.append(max(arrivals) - call.sent)
        if call.entry_id in notices:
            found.to_phones.append(notices[call.entry_id] - call.sent)
        else:
            found.phones_missed += 1
    return found


def report_round(name: str, calls: list[Call], hospital: Hospital, clients: dict[str, Any]) -> int:
    """Prints one round; returns what went missing in it."""
    answered = [call for call in calls if call.status == 200]
    elapsed = max(call.answered for call in calls) - min(call.sent for call in calls)
    found = deliveries(calls, hospital, clients)
    statuses = sorted({call.status for call in calls})
    print(f"{name}: {len(calls)} calls over {len(hospital.queue_ids)} rooms in {elapsed:.1f} s")
    print(
        f"  calls answered 200      {len(answered)} = {len(answered) / elapsed:.1f} calls/s "
        f"(statuses {statuses})"
    )
    print(f"  HTTP call p50/p99/max   {spread([call.answered - call.sent for call in calls])}")
    print(f"  call → every screen     {spread(found.to_screens)}   (p50 / p99 / max)")
    print(f"  call → patient's phone  {spread(found.to_phones)}")
    print(f"  missing                 {found.screens_missed} screen arrivals, {found.phones_missed} notices")
    return found.screens_missed + found.phones_missed + len(calls) - len(answered)


def report_integrity(clients: dict[str, Any], last_seq: dict[str, int], truth: dict[str, Any]) -> int:
    """Screens behind or with gaps, phones showing a wrong place (of those still connected), lost
    connections; returns their count."""
    screens = [screen for screen in clients["screens"] if not screen["failure"]]
    phones = [phone for phone in clients["phones"] if not phone["failure"]]
    lost = [c["failure"] for c in clients["screens"] + clients["phones"] if c["failure"]]
    gaps = sum(screen["gaps"] for screen in screens)
    resyncs = sum(screen["snapshots"] - 1 for screen in screens)
    behind = sum(1 for screen in screens for queue, seq in screen["last"].items() if seq != last_seq[queue])
    wrong = sum(
        1 for phone in phones for entry, shown in phone["shown"].items() if truth[entry] != tuple(shown)
    )
    to_screens = sum(screen["messages"] for screen in clients["screens"])
    to_phones = sum(phone["messages"] for phone in clients["phones"])
    print(f"delivered: {to_screens + to_phones} messages ({to_screens} to screens, {to_phones} to phones)")
    print(f"  connections lost        {len(lost)}{': ' + lost[0] if lost else ''}")
    print("  of those still connected:")
    print(f"  screens with a seq gap  {gaps} (snapshots re-sent: {resyncs})")
    print(f"  screen queues behind    {behind} (a screen's last seq of a queue ≠ the queue's log)")
    print(f"  phones wrong position   {wrong}")
    return gaps + behind + wrong + len(lost)


def server_troubles(workdir: Path) -> list[str]:
    """Worker restarts and errors in the server's log."""
    signs = ("died", "Traceback", "ERROR", "hung", "killed")
    lines = (workdir / "serve.log").read_text(errors="replace").splitlines()
    return [line for line in lines if any(sign in line for sign in signs)]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- the run ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    screens: int
    phones: int
    calls: int
    rate: float
    workers: int
    clients: int
    hub: str | None


async def doctors_at_work(port: int, hospital: Hospital, options: Options) -> tuple[list[Call], list[Call]]:
    steady_calls = options.calls // 2
    limits = httpx.Limits(max_connections=len(hospital.queue_ids) + 10)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as http:
        steady = await steady_round(http, hospital, steady_calls, options.rate)
        await asyncio.sleep(2)  # the rounds do not overlap
        rush = await rush_round(http, hospital, options.calls - steady_calls, steady_calls)
    return steady, rush


def run(options: Options) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ihos-qbench-"))
    os.environ.update(
        {
            "IHOS_KEY_FILE": str(workdir / "keys.json"),
            "IHOS_PASSWORD_HASH_FAST": "1",
            "IHOS_DATABASE_URL": DATABASE_URL,
        }
    )
    hospital = asyncio.run(seed(options.screens, options.phones, workdir))
    port = free_port()
    server = start_server(port, options.workers, options.hub, workdir)
    try:
        ours = server_pids(server)
        opening, opened = cpu_of(ours), time.monotonic()
        clients = start_clients(hospital, f"ws://127.0.0.1:{port}", options.clients)
        connecting = sum(cpu_of(ours).values()) - sum(opening.values())
        print(
            f"{len(hospital.screens)} screens and {len(hospital.phones)} phones connected in "
            f"{time.monotonic() - opened:.0f} s, ihos CPU "
            f"{1000 * connecting / (len(hospital.screens) + len(hospital.phones)):.1f} ms a connection "
            f"({options.workers} workers, hub {options.hub or 'in-process'}, {options.clients} client "
            f"processes; load average {load()})"
        )
        database = backend_pids()
        before = cpu_of(ours) | cpu_of(database)
        steady, rush = asyncio.run(doctors_at_work(port, hospital, options))
        last_seq, truth = asyncio.run(database_state())
        settle_clients(clients, last_seq, {entry for entry, (state, _) in truth.items() if state == "called"})
        after = cpu_of(ours), cpu_of(backend_pids())
        received = stop_clients(clients)
    finally:
        server.terminate()
        server.wait(timeout=30)
    missing = report_round(f"steady round at {options.rate:g} calls/s", steady, hospital, received)
    missing += report_round("rush round (every doctor calls again at once)", rush, hospital, received)
    missing += report_integrity(received, last_seq, truth)
    answered = sum(1 for call in steady + rush if call.status == 200) or 1
    spent = [sum(part.values()) - sum(before.get(pid, 0.0) for pid in part) for part in after]
    print(
        f"CPU per call              ihos {1000 * spent[0] / answered:.1f} ms + PostgreSQL "
        f"{1000 * spent[1] / answered:.1f} ms (fan-out included); client processes "
        f"{received['cpu']:.0f} s in all"
    )
    troubles = server_troubles(workdir)
    print(f"server log                {len(troubles)} worker restarts or errors{': ' if troubles else ''}")
    for line in troubles[:5]:
        print(f"    {line[:150]}")
    print(f"load average after        {load()} ({os.cpu_count()} cores)")
    return missing + len(troubles)


def options_from_command_line() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=50, help="room and hall screens (one hall per 10)")
    parser.add_argument("--phones", type=int, default=2000, help="patients checked in, each with a phone")
    parser.add_argument("--calls", type=int, default=600, help="calls in all: half steady, half rush")
    parser.add_argument("--rate", type=float, default=5, help="calls a second in the steady round")
    parser.add_argument("--workers", type=int, default=2, help="ihos serve worker processes")
    parser.add_argument("--clients", type=int, default=2, help="client processes holding the WebSockets")
    parser.add_argument("--hub", default=REDIS_URL, help="Redis URL of the event hub ('' for in-process)")
    arguments = parser.parse_args()
    if arguments.screens < 2 or arguments.calls > arguments.phones - arguments.screens:
        parser.error("at least 2 screens, and fewer calls than patients (each call takes one)")
    hub = arguments.hub or None
    if hub and not redis_reachable(hub):
        print(f"Redis at {hub} does not answer: the in-process hub, in one worker")
        hub = None
    if hub is None and arguments.workers > 1:
        # The in-process hub reaches the WebSockets of its own process only.
        arguments.workers = 1
    return Options(
        arguments.screens, arguments.phones, arguments.calls, arguments.rate, arguments.workers,
        arguments.clients, hub,
    )  # fmt: skip


if __name__ == "__main__":
    if run(options_from_command_line()):
        sys.exit("events went missing or calls failed: see above")
