"""Readable order and refund numbers that every channel accepts: letters and digits only, 22 characters
(WeChat Pay allows 6–32, Alipay 64, UnionPay 8–40, the insurance platform 30)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.db import insert_unique
from ihos.kit.ids import digits
from ihos.kit.time import local_now

DRAWS = 5


def _number(prefix: str) -> str:
    # The local time makes a number readable over the phone ("IH 2026-11-27 15:30 …"); six random digits
    # keep it unguessable enough and make a collision (then decided by the unique constraint) rare.
    return f"{prefix}{local_now():%Y%m%d%H%M%S}{digits(6)}"


def order_number() -> str:
    return _number("IH")


def refund_number() -> str:
    return _number("RF")


async def insert_numbered(session: AsyncSession, row: object, field: str, draw: Callable[[], str]) -> None:
    """Insert ``row`` with a number from ``draw`` in ``field``, drawn again while one is taken (at a
    rush's rate two requests draw the same number every few seconds)."""
    for _ in range(DRAWS):
        setattr(row, field, draw())
        if await insert_unique(session, row):
            return
    raise RuntimeError(f"{DRAWS} numbers drawn in a row for {field} were taken")
