"""How many payment notifications ihos processes per second on PostgreSQL.

Creates N orders opened at the WeChat Pay sandbox, has the sandbox pay them (capturing the signed,
encrypted notifications it would send), then posts the notifications to the application with C at once,
each request in its own session as in production: signature check, decryption, nonce, the notification
row, the order transition, the payment row, the HIS write-back job. Prints notifications per second and
latency percentiles. Needs a PostgreSQL server (IHOS_BENCH_DATABASE_URL, default the local one).

    .venv/bin/python bench/payment_notifications.py [--orders 400] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("IHOS_KEY_FILE", str(Path(tempfile.mkdtemp()) / "keys.json"))
os.environ.setdefault("IHOS_PASSWORD_HASH_FAST", "1")
os.environ["IHOS_RUN_JOBS_IN_APP"] = "false"
BENCH_URL = os.environ.get(
    "IHOS_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/ihos_bench"
)
os.environ["IHOS_DATABASE_URL"] = BENCH_URL

import httpx  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ihos.app import create_app  # noqa: E402
from ihos.auth.caller import Caller  # noqa: E402
from ihos.billing import sandbox, service  # noqa: E402
from ihos.db import commit, create_engine, get_sessionmaker  # noqa: E402
from ihos.integrations.payment import courier  # noqa: E402
from ihos.kit.idcard import check_digit  # noqa: E402
from ihos.migrations import upgrade  # noqa: E402
from ihos.models.billing import Order  # noqa: E402
from ihos.models.patients import Patient  # noqa: E402
from ihos.security.fields import blind_index  # noqa: E402
from ihos.security.keys import generate_key_file  # noqa: E402


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


async def open_orders(client: httpx.AsyncClient, count: int) -> list[str]:
    maker = get_sessionmaker()
    numbers = []
    async with maker() as session:
        first17 = "11010519850312013"
        patient = Patient(
            name="压测患者",
            id_number=first17 + check_digit(first17),
            sex="male",
            birth_date=__import__("datetime").date(1985, 3, 12),
            phone="13900000001",
            id_number_index=blind_index(first17 + check_digit(first17), kind="id_number"),
            phone_index=blind_index("13900000001", kind="phone"),
            identity_status="verified",
        )
        session.add(patient)
        await session.flush()
        caller = Caller(kind="system", label="bench")
        for _ in range(count):
            order = await service.create_order(
                session,
                caller,
                account_id=None,
                patient=patient,
                business_kind="exam",
                business_reference=None,
                description="压测",
                lines=[service.LineIn("JC0001", "检查", 1, 2_000)],
            )
            numbers.append(order.order_number)
        await commit(session)
    for number in numbers:  # prepay at the WeChat Pay sandbox, as a kiosk would (system client route)
        async with maker() as session:
            await service.pay(
                session,
                Caller(kind="system", label="bench"),
                order_number=number,
                channel_name="wechat",
                scene="native",
                payer=service.Payer(),
            )
            await commit(session)
    return numbers


async def notifications_for(numbers: list[str]) -> list[courier.Delivery]:
    captured: list[courier.Delivery] = []

    async def capture(_session, delivery, *, delay=None, copies=1):  # type: ignore[no-untyped-def]
        captured.extend([delivery] * copies)

    courier.send_notification = capture  # type: ignore[assignment]
    async with get_sessionmaker()() as session:
        for number in numbers:
            await sandbox.simulate_payment(session, "wechat", number)
        await commit(session)
    return captured


async def post_all(
    client: httpx.AsyncClient, deliveries: list[courier.Delivery], concurrency: int
) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def post(delivery: courier.Delivery) -> None:
        async with gate:
            started = time.perf_counter()
            answer = await client.post(
                delivery.url.replace("http://127.0.0.1:8000", ""),
                headers=delivery.headers,
                content=delivery.body,
            )
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"notification refused: {answer.status_code} {answer.text}")

    await asyncio.gather(*(post(d) for d in deliveries))
    return latencies


async def main(orders: int, concurrency: int) -> None:
    generate_key_file(Path(os.environ["IHOS_KEY_FILE"]), overwrite=True)
    await fresh_database()
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        numbers = await open_orders(client, orders)
        deliveries = await notifications_for(numbers)
        started = time.perf_counter()
        latencies = await post_all(client, deliveries, concurrency)
        elapsed = time.perf_counter() - started
    async with get_sessionmaker()() as session:
        paid = await session.scalar(select(func.count()).select_from(Order).where(Order.state == "paid"))
    latencies.sort()
    print(f"database            {make_url(BENCH_URL).render_as_string(hide_password=True)}")
    print(f"notifications       {len(deliveries)} (WeChat Pay v3: RSA signature, AES-256-GCM, nonce)")
    print(f"concurrency         {concurrency}")
    print(f"orders paid         {paid}")
    print(f"throughput          {len(deliveries) / elapsed:.1f} notifications/s")
    print(
        f"latency p50 / p99   {statistics.median(latencies) * 1000:.1f} ms / "
        f"{latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
    )
    if paid != orders:
        sys.exit(f"expected {orders} paid orders, found {paid}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.orders, arguments.concurrency))
