"""Where a patient goes in a queue (排队规则, QU-04), as pure functions: no database, no clock, no I/O.

The waiting patients are ordered by ``sort_key`` (ties: the earlier check-in, then the entry id). A key
is either *natural*, computed from the patient alone, or *relative*, placed after the next N patients
waiting at that moment:

- natural: ``(segment minute, band, number)`` packed into one integer. Within a time segment the bands
  are priority (when the rule puts priority patients at the front of their segment), booked, walk-in
  (当日挂号: after the booked patients of their segment) and late (when the rule sends late arrivals to
  the end of the segment in progress). Booked patients therefore go by segment and number whatever the
  order in which they check in: concurrent check-ins give one order.
- relative: late arrivals ("after the next N"), priority patients ("ahead": after N), returns after an
  exam, missed calls ("back N places"). The key falls between the keys of the Nth and (N+1)th waiting
  patients. Natural keys are ``STEP`` apart, so many relative placements fit between two patients; when
  two keys are adjacent the patients behind are pushed down by one (``Placement.moved``), which keeps
  everybody's order.

Keys stay below 2**53, so JavaScript clients can compare them as numbers.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

LatePolicy = Literal["after_next", "end_of_segment", "end_of_period"]
PriorityPolicy = Literal["none", "ahead", "segment_front"]
ArrivalKind = Literal["booked", "walk_in", "order"]

STEP = 1 << 20  # room between two natural keys for relative placements
NUMBER_SPAN = 10_000  # numbers 0…9999 within a band
PRIORITY_NUMBERS = 1_000  # in the priority band: level first, then the number (0…999)
MAX_LEVEL = 9
MINUTES_PER_DAY = 1440


class Band(IntEnum):
    """The order of the kinds of patient within one time segment."""

    PRIORITY = 0
    BOOKED = 1
    WALK_IN = 2
    LATE = 3


BANDS = len(Band)


@dataclass(frozen=True)
class QueueRules:
    """A queue's rule set, resolved (hospital defaults ← department ← queue). Minutes are whole minutes."""

    checkin_open_minutes: int = 60  # check-in opens this long before the patient's time segment
    grace_minutes: int = 30  # after the segment starts, a booked patient arriving this late is still on time
    late_policy: LatePolicy = "end_of_segment"
    late_after: int = 3  # late_policy "after_next": behind this many waiting patients
    priority_policy: PriorityPolicy = "ahead"
    priority_after: int = 1  # priority_policy "ahead": behind this many waiting patients
    return_after: int = 2  # back from an exam: behind this many waiting patients
    miss_back: int = 3  # a missed call: back behind this many waiting patients
    max_misses: int = 2  # missed this many times: out of the queue
    consult_minutes: int = 10  # the estimate's minutes per patient until today's visits give an average
    sms_on_call: bool = False


@dataclass(frozen=True)
class Arrival:
    """What the rules need to know about a patient checking in. Times are minutes of the hospital's day."""

    kind: ArrivalKind
    number: int
    arrived_minute: int
    segment_minute: int | None = None  # booked and walk-in: the start of the booking's time segment
    segment_length: int = 30
    period_end_minute: int | None = None  # the end of the session (半天)
    priority_level: int = 0


@dataclass(frozen=True)
class Waiting:
    """A waiting patient as the placement sees it, in queue order."""

    id: Hashable
    sort_key: int
    priority_level: int = 0


@dataclass(frozen=True)
class Placement:
    sort_key: int
    is_late: bool = False
    is_priority: bool = False
    # Patients pushed down by one to make room: (id, new sort key), in queue order.
    moved: tuple[tuple[Hashable, int], ...] = field(default=())


def natural_key(segment_minute: int, band: Band, number: int) -> int:
    minute = min(max(segment_minute, 0), MINUTES_PER_DAY)
    return ((minute * BANDS + band) * NUMBER_SPAN + min(max(number, 0), NUMBER_SPAN - 1)) * STEP


def is_late(rules: QueueRules, arrival: Arrival) -> bool:
    """A booked patient arriving after the segment's start plus the grace period. Walk-ins registered
    today are never late: their place comes from when they registered."""
    return (
        arrival.kind == "booked"
        and arrival.segment_minute is not None
        and arrival.arrived_minute > arrival.segment_minute + rules.grace_minutes
    )


def opens_minute(rules: QueueRules, arrival: Arrival) -> int | None:
    """The minute check-in opens for this patient, or None when it is always open (exam and lab)."""
    if arrival.segment_minute is None:
        return None
    return arrival.segment_minute - rules.checkin_open_minutes


def segment_in_progress(arrival: Arrival) -> int:
    """The start of the time segment running when the patient arrived, counting in the booking's segments."""
    start = arrival.segment_minute if arrival.segment_minute is not None else arrival.arrived_minute
    length = max(arrival.segment_length, 1)
    if arrival.arrived_minute <= start:
        return start
    return start + (arrival.arrived_minute - start) // length * length


def place_arrival(rules: QueueRules, arrival: Arrival, waiting: Sequence[Waiting]) -> Placement:
    """The key of a patient checking in, given the patients waiting now (in queue order)."""
    level = min(max(arrival.priority_level, 0), MAX_LEVEL)
    late = is_late(rules, arrival)
    if level and rules.priority_policy == "ahead":
        # Priority wins over lateness: an elderly patient who comes late is still seen early. Nobody
        # waiting: at the very front, ahead of whoever checks in next.
        key, moved = insert_after(waiting, rules.priority_after, level=level, anchor=0)
        return Placement(key, is_late=False, is_priority=True, moved=moved)
    if arrival.kind == "order":
        # Exam and lab stations have no segments: by arrival, then number.
        return Placement(natural_key(arrival.arrived_minute, Band.BOOKED, arrival.number))
    segment = arrival.segment_minute if arrival.segment_minute is not None else arrival.arrived_minute
    if arrival.kind == "walk_in":
        # Registered for a segment already under way: joins the segment in progress, not a past one.
        segment = max(segment, segment_in_progress(arrival))
    if level and rules.priority_policy == "segment_front":
        if late:
            segment = segment_in_progress(arrival)
        sub = (MAX_LEVEL - level) * PRIORITY_NUMBERS + min(arrival.number, PRIORITY_NUMBERS - 1)
        return Placement(natural_key(segment, Band.PRIORITY, sub), is_priority=True)
    if late:
        return place_late(rules, arrival, waiting)
    band = Band.WALK_IN if arrival.kind == "walk_in" else Band.BOOKED
    return Placement(natural_key(segment, band, arrival.number), is_priority=bool(level))


def place_late(rules: QueueRules, arrival: Arrival, waiting: Sequence[Waiting]) -> Placement:
    """By the late rule: behind the next N, at the end of the segment in progress, or of the period.
    Also for a patient the triage desk puts back after too many missed calls or after leaving."""
    if rules.late_policy == "after_next":
        key, moved = insert_after(waiting, rules.late_after, anchor=_anchor(arrival))
        return Placement(key, is_late=True, moved=moved)
    if rules.late_policy == "end_of_period" and arrival.period_end_minute is not None:
        # Just before the next period's first segment: after everyone of this session.
        return Placement(natural_key(arrival.period_end_minute - 1, Band.LATE, arrival.number), is_late=True)
    return Placement(natural_key(segment_in_progress(arrival), Band.LATE, arrival.number), is_late=True)


def place_return(rules: QueueRules, waiting: Sequence[Waiting], *, anchor_minute: int) -> Placement:
    """Back from an exam (检查后复诊): behind the next ``return_after`` waiting patients."""
    key, moved = insert_after(waiting, rules.return_after, anchor=natural_key(anchor_minute, Band.BOOKED, 0))
    return Placement(key, moved=moved)


def place_missed(
    rules: QueueRules, waiting: Sequence[Waiting], *, misses: int, anchor_minute: int
) -> Placement | None:
    """After a missed call (过号): behind the next ``miss_back`` waiting patients, or None (out of the
    queue) once ``misses`` reaches ``max_misses``."""
    if misses >= rules.max_misses:
        return None
    key, moved = insert_after(waiting, rules.miss_back, anchor=natural_key(anchor_minute, Band.BOOKED, 0))
    return Placement(key, moved=moved)


def place_next(waiting: Sequence[Waiting], *, anchor_minute: int) -> Placement:
    """At the head of the queue (a transfer sent to be seen next)."""
    key, moved = insert_after(waiting, 0, anchor=natural_key(anchor_minute, Band.BOOKED, 0))
    return Placement(key, moved=moved)


def insert_after(
    waiting: Sequence[Waiting], count: int, *, level: int = 0, anchor: int
) -> tuple[int, tuple[tuple[Hashable, int], ...]]:
    """A key that puts a patient behind the first ``count`` waiting patients (all of them if fewer).

    A priority patient (``level`` > 0) also goes behind the priority patients of the same or a higher
    level placed there before, so priority patients keep their order among themselves. ``anchor`` is the
    key used when nobody is waiting.
    """
    position = min(max(count, 0), len(waiting))
    if level > 0:
        while position < len(waiting) and waiting[position].priority_level >= level:
            position += 1
    if not waiting:
        return anchor, ()
    if position == 0:
        return waiting[0].sort_key - STEP, ()
    low = waiting[position - 1].sort_key
    if position == len(waiting):
        return low + STEP, ()
    high = waiting[position].sort_key
    if high - low >= 2:
        return low + (high - low) // 2, ()
    # No integer between the two: take low + 1 and push the patients behind down by one where needed.
    key = previous = low + 1
    moved: list[tuple[Hashable, int]] = []
    for behind in waiting[position:]:
        if behind.sort_key > previous:
            break
        previous += 1
        moved.append((behind.id, previous))
    return key, tuple(moved)


def _anchor(arrival: Arrival) -> int:
    return natural_key(arrival.arrived_minute, Band.BOOKED, 0)


def patients_ahead(order: Sequence[Hashable], entry_id: Hashable) -> int | None:
    """How many waiting patients are before ``entry_id`` in ``order`` (the waiting ids in queue order)."""
    for index, waiting_id in enumerate(order):
        if waiting_id == entry_id:
            return index
    return None
