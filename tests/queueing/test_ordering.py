"""The ordering rules (QU-04) as pure functions: examples of each rule, then hypothesis throwing any
sequence of check-ins, calls, misses, returns and finishes at a queue that follows them."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ihos.queueing.ordering import (
    STEP,
    Arrival,
    Band,
    QueueRules,
    Waiting,
    insert_after,
    is_late,
    natural_key,
    opens_minute,
    place_arrival,
    place_missed,
    place_return,
    segment_in_progress,
)

EIGHT = 8 * 60


def booked(number: int, segment: int = EIGHT, arrived: int = EIGHT - 30, **extra: object) -> Arrival:
    return Arrival(kind="booked", number=number, arrived_minute=arrived, segment_minute=segment, **extra)  # type: ignore[arg-type]


def waiting_of(*keys: int) -> list[Waiting]:
    return [Waiting(index, key) for index, key in enumerate(keys)]


class TestNaturalKeys:
    def test_it_works(self):
        rules = QueueRules()
        first = place_arrival(rules, booked(1), [])
        second = place_arrival(rules, booked(2), [])
        later = place_arrival(rules, booked(1, segment=EIGHT + 30), [])
        assert first.sort_key < second.sort_key < later.sort_key
        assert not first.is_late and not first.moved

    def test_a_walk_in_follows_the_booked_patients_of_its_segment(self):
        rules = QueueRules()
        walk_in = place_arrival(rules, Arrival("walk_in", 2, EIGHT - 20, EIGHT), [])
        last_booked = place_arrival(rules, booked(9999), [])
        next_segment = place_arrival(rules, booked(1, segment=EIGHT + 30), [])
        assert last_booked.sort_key < walk_in.sort_key < next_segment.sort_key

    def test_a_walk_in_registered_for_a_segment_under_way_joins_the_current_one(self):
        rules = QueueRules()
        walk_in = place_arrival(rules, Arrival("walk_in", 5, EIGHT + 45, EIGHT, segment_length=30), [])
        assert walk_in.sort_key == natural_key(EIGHT + 30, Band.WALK_IN, 5)

    def test_keys_fit_javascript_numbers(self):
        assert natural_key(1440, Band.LATE, 9999) + 1000 * STEP < 2**53


class TestWindowAndLateness:
    def test_check_in_opens_before_the_segment(self):
        assert opens_minute(QueueRules(checkin_open_minutes=45), booked(1)) == EIGHT - 45
        assert opens_minute(QueueRules(), Arrival("order", 1, EIGHT)) is None

    def test_the_grace_period(self):
        rules = QueueRules(grace_minutes=15)
        assert not is_late(rules, booked(1, arrived=EIGHT + 15))
        assert is_late(rules, booked(1, arrived=EIGHT + 16))
        assert not is_late(rules, Arrival("walk_in", 1, EIGHT + 60, EIGHT))

    def test_the_segment_in_progress(self):
        assert segment_in_progress(booked(1, arrived=EIGHT + 65)) == EIGHT + 60
        assert segment_in_progress(booked(1, arrived=EIGHT - 5)) == EIGHT

    def test_late_after_the_next_n(self):
        rules = QueueRules(late_policy="after_next", late_after=2, grace_minutes=0)
        waiting = waiting_of(10 * STEP, 20 * STEP, 30 * STEP)
        placed = place_arrival(rules, booked(1, arrived=EIGHT + 40), waiting)
        assert placed.is_late and 20 * STEP < placed.sort_key < 30 * STEP

    def test_late_at_the_end_of_the_period(self):
        rules = QueueRules(late_policy="end_of_period", grace_minutes=0)
        placed = place_arrival(rules, booked(1, arrived=EIGHT + 40, period_end_minute=12 * 60), [])
        last_of_morning = natural_key(11 * 60 + 30, Band.LATE, 9999)
        first_of_afternoon = natural_key(12 * 60, Band.PRIORITY, 0)
        assert last_of_morning < placed.sort_key < first_of_afternoon


class TestPriority:
    def test_ahead_after_n(self):
        rules = QueueRules(priority_policy="ahead", priority_after=1)
        waiting = waiting_of(10 * STEP, 20 * STEP)
        placed = place_arrival(rules, booked(7, priority_level=1), waiting)
        assert placed.is_priority and 10 * STEP < placed.sort_key < 20 * STEP

    def test_priority_patients_keep_their_order_and_higher_levels_go_first(self):
        rules = QueueRules(priority_policy="ahead", priority_after=0)
        first = place_arrival(rules, booked(7, priority_level=1), waiting_of(10 * STEP))
        waiting = [Waiting("p1", first.sort_key, 1), Waiting("b", 10 * STEP)]
        same = place_arrival(rules, booked(8, priority_level=1), waiting)
        higher = place_arrival(rules, booked(9, priority_level=2), waiting)
        assert first.sort_key < same.sort_key < 10 * STEP
        assert higher.sort_key < first.sort_key

    def test_at_the_front_of_the_segment(self):
        rules = QueueRules(priority_policy="segment_front")
        placed = place_arrival(rules, booked(30, priority_level=1), [])
        assert placed.sort_key < natural_key(EIGHT, Band.BOOKED, 1)
        assert placed.sort_key > natural_key(EIGHT - 30, Band.LATE, 9999)

    def test_no_priority(self):
        rules = QueueRules(priority_policy="none")
        placed = place_arrival(rules, booked(3, priority_level=2), [])
        assert placed.sort_key == natural_key(EIGHT, Band.BOOKED, 3)


class TestRelativePlacements:
    def test_a_missed_call_goes_back_n_places_and_out_after_m(self):
        rules = QueueRules(miss_back=2, max_misses=2)
        waiting = waiting_of(10, 20, 30)
        back = place_missed(rules, waiting, misses=1, anchor_minute=EIGHT)
        assert back is not None and 20 < back.sort_key < 30
        assert place_missed(rules, waiting, misses=2, anchor_minute=EIGHT) is None

    def test_a_return_after_an_exam(self):
        placed = place_return(QueueRules(return_after=1), waiting_of(10, 20), anchor_minute=EIGHT)
        assert 10 < placed.sort_key < 20

    def test_with_no_room_the_patients_behind_move_down_by_one(self):
        key, moved = insert_after(waiting_of(10, 11, 11, 12, 40), 1, anchor=0)
        assert key == 11
        assert moved == ((1, 12), (2, 13), (3, 14))

    def test_an_empty_queue_and_the_ends(self):
        assert insert_after([], 3, anchor=77) == (77, ())
        assert insert_after(waiting_of(10), 0, anchor=0) == (10 - STEP, ())
        assert insert_after(waiting_of(10), 5, anchor=0) == (10 + STEP, ())


# -- any sequence of events -------------------------------------------------------------------------


@dataclass
class Patient:
    id: int
    kind: str  # booked | walk_in
    segment: int
    number: int
    level: int
    state: str = "new"
    key: int = 0
    checked_in: int = 0
    misses: int = 0
    natural: bool = False  # placed by its own facts (not relative to others)
    late: bool = False
    awaiting_return: bool = False
    effective_segment: int = 0  # a walk-in's segment: its own, or the one under way when it came


@dataclass
class Queue:
    rules: QueueRules
    patients: dict[int, Patient]
    clock: int = EIGHT - 40
    arrivals: int = 0
    log: list[str] = field(default_factory=list)

    def waiting(self) -> list[Patient]:
        found = [p for p in self.patients.values() if p.state == "waiting"]
        return sorted(found, key=lambda p: (p.key, p.checked_in, p.id))

    def view(self) -> list[Waiting]:
        return [Waiting(p.id, p.key, p.level) for p in self.waiting()]

    def apply(self, placement_key: int, moved: tuple[tuple[object, int], ...]) -> None:
        for patient_id, key in moved:
            self.patients[patient_id].key = key  # type: ignore[index]


PATIENTS = st.integers(min_value=0, max_value=11)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("check_in"), PATIENTS),
        st.tuples(st.just("call_next"), st.just(0)),
        st.tuples(st.just("miss"), st.just(0)),
        st.tuples(st.just("finish"), st.booleans()),
        st.tuples(st.just("return"), PATIENTS),
        st.tuples(st.just("tick"), st.integers(min_value=1, max_value=25)),
    ),
    max_size=60,
)
RULES = st.builds(
    QueueRules,
    checkin_open_minutes=st.just(240),
    grace_minutes=st.integers(min_value=0, max_value=40),
    late_policy=st.sampled_from(["after_next", "end_of_segment", "end_of_period"]),
    late_after=st.integers(min_value=0, max_value=4),
    priority_policy=st.sampled_from(["none", "ahead", "segment_front"]),
    priority_after=st.integers(min_value=0, max_value=3),
    return_after=st.integers(min_value=0, max_value=4),
    miss_back=st.integers(min_value=0, max_value=4),
    max_misses=st.integers(min_value=1, max_value=3),
)
PEOPLE = st.lists(
    st.tuples(
        st.sampled_from(["booked", "booked", "walk_in"]), st.integers(0, 3), st.sampled_from([0, 0, 0, 1, 2])
    ),
    min_size=12,
    max_size=12,
)


def make_queue(rules: QueueRules, people: list[tuple[str, int, int]]) -> Queue:
    patients = {}
    numbers = sorted(range(12), key=lambda i: (people[i][1], i))  # numbers follow the segments
    for number, index in enumerate(numbers, start=1):
        kind, segment, level = people[index]
        patients[index] = Patient(index, kind, EIGHT + 30 * segment, number, level)
    return Queue(rules, patients)


def arrival_of(queue: Queue, patient: Patient) -> Arrival:
    return Arrival(
        kind=patient.kind,  # type: ignore[arg-type]
        number=patient.number,
        arrived_minute=queue.clock,
        segment_minute=patient.segment,
        segment_length=30,
        period_end_minute=12 * 60,
        priority_level=patient.level,
    )


def check_in(queue: Queue, patient: Patient) -> None:
    rules, before = queue.rules, queue.view()
    arrival = arrival_of(queue, patient)
    placed = place_arrival(rules, arrival, before)
    queue.apply(placed.sort_key, placed.moved)
    queue.arrivals += 1
    patient.state, patient.key, patient.checked_in = "waiting", placed.sort_key, queue.arrivals
    relative = (patient.level and rules.priority_policy == "ahead") or (
        placed.is_late and rules.late_policy == "after_next"
    )
    patient.natural, patient.late = not relative, placed.is_late
    patient.effective_segment = (
        max(patient.segment, segment_in_progress(arrival)) if patient.kind == "walk_in" else patient.segment
    )
    assert_order_kept(before, queue, patient)
    if relative:
        count = (
            rules.priority_after if patient.level and rules.priority_policy == "ahead" else rules.late_after
        )
        assert_position(
            queue,
            patient,
            before,
            count,
            level=patient.level if patient.level and rules.priority_policy == "ahead" else 0,
        )


def assert_order_kept(before: list[Waiting], queue: Queue, placed: Patient) -> None:
    """A placement never reorders the others."""
    after = [p.id for p in queue.waiting() if p.id != placed.id]
    assert after == [w.id for w in before]


def assert_position(
    queue: Queue, patient: Patient, before: list[Waiting], count: int, *, level: int = 0
) -> None:
    position = min(count, len(before))
    if level:
        while position < len(before) and before[position].priority_level >= level:
            position += 1
    assert [p.id for p in queue.waiting()].index(patient.id) == position


def assert_invariants(queue: Queue) -> None:
    states = [p.state for p in queue.patients.values()]
    waiting = queue.waiting()
    # Every patient exactly once: each is in one state; waiting holds no one twice.
    assert len({p.id for p in waiting}) == len(waiting) == states.count("waiting")
    assert sum(1 for s in states if s == "called") <= 1
    # Natural placements keep the rule: booked on time by segment and number; walk-ins after the booked
    # patients of their segment.
    natural = [
        p
        for p in waiting
        if p.natural and not p.late and (not p.level or queue.rules.priority_policy == "none")
    ]
    for index, first in enumerate(natural):
        for second in natural[index + 1 :]:
            if first.kind == second.kind:
                assert (first.effective_segment, first.number) < (second.effective_segment, second.number)
            elif first.kind == "walk_in":  # a booked patient behind a walk-in is of a later segment
                assert second.effective_segment > first.effective_segment
            else:
                assert first.effective_segment <= second.effective_segment


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=RULES, people=PEOPLE, operations=OPERATIONS)
def test_any_sequence_keeps_every_patient_once_and_the_rules(rules, people, operations):
    queue = make_queue(rules, people)
    called: Patient | None = None
    for operation, argument in operations:
        if operation == "tick":
            queue.clock += argument
        elif operation == "check_in":
            patient = queue.patients[argument]
            if patient.state == "new":
                check_in(queue, patient)
        elif operation == "call_next" and called is None:
            waiting = queue.waiting()
            if waiting:
                called = waiting[0]
                called.state = "called"
        elif operation == "miss" and called is not None:
            before = queue.view()
            called.misses += 1
            placed = place_missed(rules, before, misses=called.misses, anchor_minute=queue.clock)
            if placed is None:
                assert called.misses == rules.max_misses
                called.state = "missed"
            else:
                queue.apply(placed.sort_key, placed.moved)
                called.state, called.key, called.natural = "waiting", placed.sort_key, False
                assert_order_kept(before, queue, called)
                assert_position(queue, called, before, rules.miss_back)
            called = None
        elif operation == "finish" and called is not None:
            called.state, called.awaiting_return = "done", bool(argument)
            called = None
        elif operation == "return":
            patient = queue.patients[argument]
            if patient.state == "done" and patient.awaiting_return:
                before = queue.view()
                placed = place_return(rules, before, anchor_minute=queue.clock)
                queue.apply(placed.sort_key, placed.moved)
                patient.state, patient.key, patient.natural, patient.awaiting_return = (
                    "waiting",
                    placed.sort_key,
                    False,
                    False,
                )
                assert_order_kept(before, queue, patient)
                assert_position(queue, patient, before, rules.return_after)
        assert_invariants(queue)
    # Nobody was lost: every patient who checked in is somewhere, once.
    seen = [p for p in queue.patients.values() if p.state != "new"]
    assert all(p.state in ("waiting", "called", "done", "missed") for p in seen)
    assert all(p.misses <= rules.max_misses for p in seen)


def test_the_simulation_puts_a_walk_in_after_the_booked_patients_who_come_later():
    queue = make_queue(QueueRules(priority_policy="none"), [("booked", 0, 0)] * 11 + [("walk_in", 0, 0)])
    queue.clock = EIGHT - 10
    check_in(queue, queue.patients[11])
    check_in(queue, queue.patients[0])
    assert [p.id for p in queue.waiting()] == [0, 11]
