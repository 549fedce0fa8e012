"""The 8 o'clock rush: many patients book one popular session through the HTTP API at once.

Starts ``ihos serve`` (PostgreSQL, several worker processes) on a fresh database with one released
session of C places and as many real-name patients signed in, warms it up with a short round on another
session (a server at 8 o'clock has been serving all morning: its connection pools are open), then has K
concurrent clients book the popular session for a number of seconds. Prints successful bookings per
second, latency of successful bookings (p50/p99), every answer by status, and the count of double-booked
places (must be 0). A second round with many
more clients books a smaller session until it is sold out and checks that overload gives only "sold
out" or "too many requests". Beside them, pgbench runs the same-shaped conditional UPDATE on this
machine's PostgreSQL, and the ratio is printed.

The rate depends on what else the machine runs; the CPU time one booking costs the server processes and
PostgreSQL does not, so it is printed too, with the rate it allows on this machine's idle cores.

    .venv/bin/python bench/booking_rush.py [--capacity 12000] [--clients 64] [--overload 400]
                                           [--workers 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

WORKDIR = Path(tempfile.mkdtemp(prefix="ihos-rush-"))
os.environ.setdefault("IHOS_KEY_FILE", str(WORKDIR / "keys.json"))
os.environ.setdefault("IHOS_PASSWORD_HASH_FAST", "1")
BENCH_URL = os.environ.get(
    "IHOS_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/ihos_rush"
)
os.environ["IHOS_DATABASE_URL"] = BENCH_URL

import httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ihos.auth.caller import command_line  # noqa: E402
from ihos.auth.sessions import token_digest  # noqa: E402
from ihos.db import commit, create_engine, dispose_engine, get_sessionmaker  # noqa: E402
from ihos.kit.idcard import check_digit  # noqa: E402
from ihos.kit.ids import token as new_token  # noqa: E402
from ihos.kit.ids import uuid7  # noqa: E402
from ihos.kit.time import local_today  # noqa: E402
from ihos.migrations import upgrade  # noqa: E402
from ihos.models.accounts import Account, AuthSession  # noqa: E402
from ihos.models.patients import AccountPatient, Patient  # noqa: E402
from ihos.models.scheduling import RegistrationKind, ScheduleTemplate  # noqa: E402
from ihos.models.system import SystemRule  # noqa: E402
from ihos.organization import service as organisation  # noqa: E402
from ihos.scheduling.generation import create_session, plan  # noqa: E402
from ihos.security.fields import blind_index  # noqa: E402
from ihos.security.keys import generate_key_file  # noqa: E402


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()


async def fresh_database() -> None:
    url = make_url(BENCH_URL)
    admin = create_engine(
        url.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    await admin.dispose()
    engine = create_engine(BENCH_URL)
    await upgrade(engine)
    await engine.dispose()


async def popular_session(session, capacity: int, day: date):  # type: ignore[no-untyped-def]
    hospital = await organisation.create_hospital(
        session, command_line(), code="RUSH", name="压测医院", short_name=None
    )
    cli = command_line()
    campus = await organisation.create_campus(session, cli, hospital_id=hospital.id, code="C", name="本部")
    department = await organisation.create_department(
        session, cli, campus_id=campus.id, parent_id=None, code="D", name="心血管内科"
    )
    kind = RegistrationKind(
        name="名医专家门诊", slot_type_code="expert", campus_id=campus.id, department_id=department.id
    )
    session.add(kind)
    await session.flush()
    session.add(
        ScheduleTemplate(
            registration_kind_id=kind.id,
            weekday=day.weekday(),
            period="morning",
            starts=datetime.min.time().replace(hour=8),
            ends=datetime.min.time().replace(hour=12),
            average_minutes=1,
            capacity=capacity,
            quotas={},
            valid_from=day,
        )
    )
    await session.flush()
    [planned] = await plan(session, date_from=day, date_to=day)
    clinic = await create_session(session, planned)
    clinic.release_at = datetime.now(UTC) - timedelta(minutes=1)  # released a minute ago: the rush is on
    return clinic


async def patients_with_tokens(session, count: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """``count`` real-name-verified accounts, each with its self patient and a session token."""
    accounts, patients, holdings, sessions, pairs = [], [], [], [], []
    now = datetime.now(UTC)
    for n in range(count):
        account_id, patient_id = uuid7(), uuid7()
        born = date(1940, 1, 1) + timedelta(days=n)
        first17 = f"110105{born:%Y%m%d}123"
        id_number = first17 + check_digit(first17)
        phone = f"135{n:08d}"
        token = new_token()
        accounts.append(
            {
                "id": account_id,
                "phone": phone,
                "phone_index": blind_index(phone, kind="phone"),
                "real_name_status": "verified",
                "created_at": now,
                "updated_at": now,
                "must_change_password": False,
                "failed_sign_ins": 0,
                "is_active": True,
            }
        )
        patients.append(
            {
                "id": patient_id,
                "name": f"患者{n}",
                "id_number": id_number,
                "id_number_index": blind_index(id_number, kind="id_number"),
                "sex": "male",
                "birth_date": born,
                "phone": phone,
                "phone_index": blind_index(phone, kind="phone"),
                "identity_status": "verified",
                "created_at": now,
                "updated_at": now,
            }
        )
        holdings.append(
            {
                "id": uuid7(),
                "account_id": account_id,
                "patient_id": patient_id,
                "relation": "self",
                "is_default": True,
                "self_account_key": account_id,
                "self_patient_key": patient_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        sessions.append(
            {
                "id": uuid7(),
                "token_hash": token_digest(token),
                "principal_kind": "patient",
                "account_id": account_id,
                "last_seen_at": now,
                "expires_at": now + timedelta(days=1),
                "sign_in_method": "password",
                "created_at": now,
                "updated_at": now,
            }
        )
        pairs.append((token, str(patient_id)))
    # Bulk Core inserts (the column types encrypt the personal fields as the ORM would).
    for model, rows in (
        (Account, accounts),
        (Patient, patients),
        (AccountPatient, holdings),
        (AuthSession, sessions),
    ):
        await session.execute(insert(model.__table__), rows)
    return pairs


async def seed(
    capacity: int, patients: int, overload_places: int
) -> tuple[str, str, str, list[tuple[str, str]]]:
    """The rush's session, the overload round's, the warm-up's; the patients' (token, patient id) pairs."""
    generate_key_file(Path(os.environ["IHOS_KEY_FILE"]), overwrite=True)
    await fresh_database()
    async with get_sessionmaker()() as session:
        day = local_today() + timedelta(days=2)
        first = await popular_session(session, capacity, day)
        second = await popular_session_again(session, overload_places, day + timedelta(days=1))
        warm_up = await popular_session_again(session, WARM_UP_PLACES, day + timedelta(days=2))
        pairs = await patients_with_tokens(session, patients)
        # Every client comes from 127.0.0.1 here: lift the per-address limit for the benchmark.
        session.add(SystemRule(key="booking.per_minute_per_address", value=100_000))
        session.add(SystemRule(key="booking.daily_cap", value=20))
        await commit(session)
    await dispose_engine()
    return str(first.id), str(second.id), str(warm_up.id), pairs


async def popular_session_again(session, capacity: int, day: date):  # type: ignore[no-untyped-def]
    """Another popular session on another day: the overload round's (to sell out), the warm-up's."""
    template = await session.scalar(text("SELECT id FROM schedule_templates LIMIT 1"))
    row = await session.get(ScheduleTemplate, template)
    row.weekday = day.weekday()
    row.capacity = capacity
    await session.flush()
    [planned] = await plan(session, date_from=day, date_to=day)
    clinic = await create_session(session, planned)
    clinic.release_at = datetime.now(UTC) - timedelta(minutes=1)
    return clinic


def start_server(workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"IHOS_RUN_JOBS_IN_APP": "false", "IHOS_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "ihos.cli", "serve", "--port", str(PORT), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(WORKDIR / "serve.log").open("w"),
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"ihos serve did not start: see {WORKDIR / 'serve.log'}")


WRK_SCRIPT = """
-- One booking per request, each by the next patient of this thread's share; answers counted by status
-- (and by error code for 409/429), printed by done() as "answer <key> <count>" lines.
local requests, index = {}, 0
local lines = {}
for line in io.lines("%(people)s") do lines[#lines + 1] = line end
local threads, next_thread = {}, 0
answers = {}

function setup(thread)
  thread:set("first", next_thread)
  next_thread = next_thread + 1
  threads[#threads + 1] = thread
end

function init(args)
  local count = tonumber(args[1])
  for n = first + 1, #lines, count do
    local token, patient = lines[n]:match("([^ ]+) ([^ ]+)")
    requests[#requests + 1] = wrk.format("POST", "/api/v1/me/bookings",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
      '{"clinic_session_id":"%(session)s","patient_id":"' .. patient .. '"}')
  end
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end

function response(status, headers, body)
  local key = tostring(status)
  if status >= 400 then key = key .. ":" .. (body:match('"error":"([%%w_]+)"') or "?") end
  answers[key] = (answers[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("answers")) do total[key] = (total[key] or 0) + count end
  end
  for key, count in pairs(total) do io.write(string.format("answer %%s %%d\\n", key, count)) end
end
"""


def tool(*arguments: str) -> str:
    """Run one of the command-line tools the benchmark drives (wrk, psql, pgbench); its output."""
    return subprocess.run(arguments, check=True, capture_output=True, text=True).stdout  # noqa: S603


def run_wrk(session_id: str, pairs: list[tuple[str, str]], clients: int, seconds: int) -> dict[str, Any]:
    """Book ``session_id`` for ``seconds`` with ``clients`` connections; wrk's own figures, parsed."""
    people = WORKDIR / f"people-{session_id}.txt"
    people.write_text("\n".join(f"{token} {patient}" for token, patient in pairs) + "\n")
    script = WORKDIR / f"rush-{session_id}.lua"
    script.write_text(WRK_SCRIPT % {"people": people, "session": session_id})
    threads = "2"
    output = tool(
        "wrk", "-t", threads, "-c", str(clients), "-d", f"{seconds}s", "--latency", "--timeout", "10s",
        "-s", str(script), f"http://127.0.0.1:{PORT}", "--", threads,
    )  # fmt: skip
    figures: dict[str, Any] = {"raw": output, "answers": Counter()}
    for line in output.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("50%", "99%"):
            figures[words[0]] = words[1]
        if line.startswith("answer "):
            figures["answers"][words[1]] += int(words[2])
        if "Socket errors" in line:
            figures["socket_errors"] = line.split(":", 1)[1].strip()
    return figures


async def double_booked() -> int:
    engine = create_engine(BENCH_URL)
    async with engine.connect() as connection:
        twice = await connection.scalar(
            text(
                "SELECT count(*) FROM (SELECT slot_id FROM bookings WHERE state IN ('held','confirmed') "
                "GROUP BY slot_id HAVING count(*) > 1) AS d"
            )
        )
        mismatched = await connection.scalar(
            text(
                "SELECT count(*) FROM bookings b JOIN slots s ON s.id = b.slot_id "
                "WHERE b.state = 'held' AND (s.booking_id IS DISTINCT FROM b.id OR s.status <> 'held')"
            )
        )
    await engine.dispose()
    return int(twice or 0) + int(mismatched or 0)


def pgbench_rate(clients: int) -> float:
    """The same-shaped conditional UPDATE (pick one free place with SKIP LOCKED, hold it), on its own."""
    database = make_url(BENCH_URL).database or "ihos_rush"
    tool(
        "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qc",
        "DROP TABLE IF EXISTS rush_slots; "
        "CREATE TABLE rush_slots (id bigserial primary key, session_id int, seq int, status text, "
        "hold_expires_at timestamptz); "
        "INSERT INTO rush_slots (session_id, seq, status) "
        "SELECT 1, g, 'free' FROM generate_series(1, 400000) g; "
        "CREATE INDEX ON rush_slots (session_id, seq) WHERE status = 'free'; ANALYZE rush_slots;",
    )  # fmt: skip
    script = WORKDIR / "hold.sql"
    script.write_text(
        "UPDATE rush_slots SET status = 'held', hold_expires_at = now() + interval '15 minutes' "
        "WHERE id = (SELECT id FROM rush_slots WHERE session_id = 1 AND status = 'free' ORDER BY seq "
        "LIMIT 1 FOR UPDATE SKIP LOCKED);\n"
    )
    output = tool(
        "pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-c", str(clients), "-j", "2", "-T", "10",
        "-f", str(script), database,
    )  # fmt: skip
    for line in output.splitlines():
        if line.startswith("tps"):
            return float(line.split("=")[1].split()[0])
    raise SystemExit(output)


async def bookings_of(session_id: str) -> int:
    engine = create_engine(BENCH_URL)
    async with engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM bookings WHERE session_id = :id AND state = 'held'"),
            {"id": session_id},
        )
    await engine.dispose()
    return int(count or 0)


OVERLOAD_SECONDS = 8
WARM_UP_SECONDS = 3
WARM_UP_PLACES = 3000  # more than the warm-up books, so that it never sells out

# CPU time: what one booking costs the server processes and PostgreSQL, whatever else the machine runs.
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def wait_until_idle(pids: list[int], longest: float = 120.0) -> None:
    """Wait until every worker has started: /readyz answers as soon as one has, and the others' start-up
    (importing the application, building its routes: seconds each) must not count as the rush's CPU."""
    deadline = time.monotonic() + longest
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pids)
        if now - before < 0.02:
            return
        before = now


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [server.pid, *map(int, children)]


def backend_pids() -> list[int]:
    """PostgreSQL's processes serving the benchmark's database (the server's pools)."""
    database = make_url(BENCH_URL).database or "ihos_rush"
    query = f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"  # noqa: S608 - our own name
    return [
        int(pid)
        for pid in tool("psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc", query).split()
    ]


def answers_line(answers: Counter[str]) -> str:
    return ", ".join(f"{key} ×{count}" for key, count in sorted(answers.items())) or "none"


async def main(capacity: int, clients: int, overload: int, workers: int, seconds: int) -> None:
    missing = [name for name in ("wrk", "psql", "pgbench") if shutil.which(name) is None]
    if missing:
        raise SystemExit(f"the benchmark drives {', '.join(missing)}: apt-get install wrk postgresql-client")
    overload_places = max(capacity // 12, 500)
    first, second, warm_up, pairs = await seed(
        capacity, capacity + overload * 40 + WARM_UP_PLACES, overload_places
    )
    server = start_server(workers)
    try:
        ours = server_pids(server)
        wait_until_idle(ours)
        # A server at 8 o'clock has served all morning (and yesterday's rush): its pools hold their
        # connections, with the statements prepared on them. A short round on another session opens
        # them; its own figures show what a cold server gives.
        cold = run_wrk(warm_up, pairs[-WARM_UP_PLACES:], clients, WARM_UP_SECONDS)
        wait_until_idle(ours)
        backends = backend_pids()
        started, database_started = cpu_seconds(ours), cpu_seconds(backends)
        rush = run_wrk(first, pairs[:capacity], clients, seconds)
        # Connections the rush opened on top of the warm-up's count whole (they did nothing else).
        server_cpu = cpu_seconds(ours) - started
        database_cpu = cpu_seconds(backend_pids()) - database_started
        booked = await bookings_of(first)
        flood = run_wrk(second, pairs[capacity:], overload, OVERLOAD_SECONDS)
        booked_second = await bookings_of(second)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rate = booked / seconds
    cores = os.cpu_count() or 1
    per_booking = (server_cpu + database_cpu) / max(booked, 1)
    print(f"warm-up: cold server, {clients} clients, {WARM_UP_SECONDS} s")
    print(f"  latency p50 / p99     {cold.get('50%')} / {cold.get('99%')}")
    print(f"rush: one session of {capacity} places, {clients} clients, {workers} workers, {seconds} s")
    print(f"  successful bookings   {booked} = {rate:.0f} bookings/s")
    print(f"  latency p50 / p99     {rush.get('50%')} / {rush.get('99%')}")
    print(f"  answers               {answers_line(rush['answers'])}")
    print(f"  socket errors         {rush.get('socket_errors', 'none')}")
    print(
        f"  CPU per booking       ihos {1000 * server_cpu / max(booked, 1):.2f} ms + PostgreSQL "
        f"{1000 * database_cpu / max(booked, 1):.2f} ms: at most {cores / per_booking:.0f} bookings/s "
        f"on {cores} idle cores"
    )
    print(f"overload: {overload_places} places, {overload} clients, {OVERLOAD_SECONDS} s")
    print(f"  booked                {booked_second} (sold out: {booked_second >= overload_places})")
    print(f"  latency p50 / p99     {flood.get('50%')} / {flood.get('99%')}")
    print(f"  answers               {answers_line(flood['answers'])}")
    print(f"  socket errors         {flood.get('socket_errors', 'none')}")
    unexpected = [
        key for key in flood["answers"] | rush["answers"] | cold["answers"] if key not in EXPECTED_ANSWERS
    ]
    twice = await double_booked()
    print(f"double-booked places    {twice}")
    raw = pgbench_rate(clients)
    print(f"pgbench, same UPDATE    {raw:.0f} transactions/s at {clients} clients")
    print(f"API / raw PostgreSQL    {rate / raw:.2f}")
    if twice:
        sys.exit("double bookings found")
    if unexpected:
        sys.exit(f"answers other than booked, sold out or too many requests: {unexpected}")


# Under any load a booker hears one of these: booked, sold out, slow down, or (a repeated request by the
# same patient, which wrk sends now and then when it reconnects) booked already.
EXPECTED_ANSWERS = {"201", "409:sold_out", "429:rate_limited", "409:already_booked"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=12000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--overload", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.capacity, arguments.clients, arguments.overload, arguments.workers, arguments.seconds)
    )
