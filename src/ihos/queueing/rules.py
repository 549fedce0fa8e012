"""The queue rule set (排队规则, QU-01/QU-04): hospital defaults as system rules (``queue.*``), a
department's overrides (the department rules of the back office), and a queue's own overrides (JSON on the
queue, validated by ``QueueRuleOverrides``). The nearest one wins.

System rules are integers, so the two policies are numbered there (``LATE_POLICIES``,
``PRIORITY_POLICIES``); a queue's overrides name them.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.backoffice.rules import RULES, get_department_rule
from ihos.kit.schema import Payload
from ihos.models.queueing import Queue
from ihos.queueing.ordering import LatePolicy, PriorityPolicy, QueueRules

LATE_POLICIES: dict[int, LatePolicy] = {1: "after_next", 2: "end_of_segment", 3: "end_of_period"}
PRIORITY_POLICIES: dict[int, PriorityPolicy] = {0: "none", 1: "ahead", 2: "segment_front"}

# The queue's system rules are defined with the others in ``ihos.backoffice.rules``.
QUEUE_RULES = tuple(rule for key, rule in RULES.items() if key.startswith("queue."))

# QueueRules field → system rule key.
_KEYS = {field.name: f"queue.{field.name}" for field in fields(QueueRules)}


class QueueRuleOverrides(Payload):
    """A queue's own rules; a field left out (or null) takes the department's or the hospital's value."""

    checkin_open_minutes: int | None = Field(
        default=None, ge=0, le=240, description="签到开放（时段前，分钟）"
    )
    grace_minutes: int | None = Field(default=None, ge=0, le=240, description="迟到宽限（时段开始后，分钟）")
    late_policy: LatePolicy | None = Field(
        default=None, description="after_next | end_of_segment | end_of_period"
    )
    late_after: int | None = Field(default=None, ge=0, le=50)
    priority_policy: PriorityPolicy | None = Field(default=None, description="none | ahead | segment_front")
    priority_after: int | None = Field(default=None, ge=0, le=50)
    return_after: int | None = Field(default=None, ge=0, le=50)
    miss_back: int | None = Field(default=None, ge=0, le=50)
    max_misses: int | None = Field(default=None, ge=1, le=10)
    consult_minutes: int | None = Field(default=None, ge=1, le=120)
    sms_on_call: bool | None = None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def overrides_of(queue: Queue) -> QueueRuleOverrides:
    try:
        return QueueRuleOverrides.model_validate(queue.rules or {})
    except ValidationError:
        # Rules written by an older release that this one no longer reads: the defaults apply.
        return QueueRuleOverrides()


async def hospital_value(session: AsyncSession, name: str, department_id: Any) -> Any:
    """One rule as the department (or the hospital) sets it, in the rule set's own terms."""
    value = await get_department_rule(session, _KEYS[name], department_id)
    if name == "late_policy":
        return LATE_POLICIES.get(value, "end_of_segment")
    if name == "priority_policy":
        return PRIORITY_POLICIES.get(value, "ahead")
    if name == "sms_on_call":
        return bool(value)
    return value


async def queue_rules(session: AsyncSession, queue: Queue) -> QueueRules:
    """The queue's rule set: its own overrides, else the department's, else the hospital's."""
    own = overrides_of(queue).stored()
    values = {}
    for field in fields(QueueRules):
        if field.name in own:
            values[field.name] = own[field.name]
        else:
            values[field.name] = await hospital_value(session, field.name, queue.department_id)
    return QueueRules(**values)
