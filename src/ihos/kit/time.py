"""Time: aware UTC in the database and in code, the hospital's zone for schedules and display.

``now()`` reads a clock that tests can move (``clock.travel``); nothing in ihos calls
``datetime.now()`` directly, so expiry rules (SMS codes, holds, sessions) are testable without sleeping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


class Clock:
    """The wall clock, with an offset or a frozen instant for tests."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def freeze(self, at: datetime | None = None) -> None:
        self._frozen = (at or self.now()).astimezone(UTC)

    def travel(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def reset(self) -> None:
        self._frozen = None
        self._offset = timedelta()


clock = Clock()


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return clock.now()


@lru_cache
def hospital_zone() -> ZoneInfo:
    from ihos.config import get_settings

    return ZoneInfo(get_settings().timezone)


def local_now() -> datetime:
    return now().astimezone(hospital_zone())


def local_today() -> date:
    return local_now().date()


def start_of_local_day(day: date | None = None) -> datetime:
    """The UTC instant at which ``day`` (default today) begins in the hospital's zone."""
    day = day or local_today()
    return datetime.combine(day, time.min, tzinfo=hospital_zone()).astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC)
