"""The slot pool's rules (SL-01…SL-08, PT-22, PT-24, DR-07): the outpatient office's configuration,
generation with a preview, sessions added and cancelled by hand, the patient's directory and schedules
with availability, and the staff's booking records.

Every change is audited. Configuration changes apply to sessions generated afterwards; a session keeps the
fee, places and times it was generated with. Release rules are the exception: a change moves the release
and pool times of the sessions not yet released, so that "release 14 days ahead" means what it says.
"""

from __future__ import annotations

import time as monotonic_time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice import dictionaries, rules
from ihos.db import insert_unique
from ihos.errors import Conflict, Forbidden, InvalidInput, NotFound
from ihos.kit.time import hospital_zone, local_now, local_today, now
from ihos.models.booking import Booking
from ihos.models.organization import Department, Staff
from ihos.models.scheduling import (
    BookingChannel,
    ClinicSession,
    Holiday,
    RegistrationKind,
    ScheduleTemplate,
    SlotType,
)
from ihos.scheduling import repository
from ihos.scheduling.generation import (
    POOL,
    active_channels,
    add_session,
    create_session,
    local_instant,
    plan,
    release_times,
)

APP_CHANNEL = "app"  # the patient app's channel: what browsing counts for
MAX_GENERATE_DAYS = 92
SCHEDULE_LOOKAHEAD_DAYS = 7  # schedules show this many days beyond the booking window, as not yet released
ONLINE_PRACTICE_YEARS = 3  # 互联网诊疗管理办法 第25条
# Rules the outpatient office keeps; of them, those a department may override: the ones read per session
# with ``get_department_rule`` (by generation and by the hold).
BOOKING_RULE_PREFIXES = ("booking.", "blacklist.", "schedule.")
DEPARTMENT_RULE_KEYS = (
    "booking.days_ahead",
    "booking.release_minute",
    "booking.same_day_start_minute",
    "booking.same_day_end_minute",
    "booking.daily_cap",
    "booking.pool_return_hours",
)
RELEASE_RULE_KEYS = frozenset({"booking.days_ahead", "booking.release_minute", "booking.pool_return_hours"})
KIND_FIELDS = ("slot_type_code", "department_id", "doctor_id", "is_online")
TEMPLATE_FIELDS = ("starts", "ends", "capacity", "quotas", "weekday", "period", "valid_from", "valid_until")
# 主任医师 > 副主任医师 > 主治医师 > 住院医师; other titles after them, then none.
TITLE_ORDER = ("chief_physician", "associate_chief_physician", "attending_physician", "resident_physician")


class SlotTypeNotFound(NotFound):
    code = "slot_type_not_found"
    default_message = "号类不存在"


class SlotTypeExists(Conflict):
    code = "slot_type_exists"
    default_message = "号类编码已被使用"


class SlotTypeRetired(Conflict):
    code = "slot_type_retired"
    default_message = "该号类已停用"


class RegistrationKindNotFound(NotFound):
    code = "registration_kind_not_found"
    default_message = "号别不存在"


class RegistrationKindRetired(Conflict):
    code = "registration_kind_retired"
    default_message = "该号别已停用"


class ChannelNotFound(NotFound):
    code = "channel_not_found"
    default_message = "预约渠道不存在"


class ChannelExists(Conflict):
    code = "channel_exists"
    default_message = "渠道编码已被使用"


class ReservedChannel(InvalidInput):
    code = "reserved_channel"
    default_message = "pool 是公共号池，不能用作渠道编码"


class DepartmentNotFound(NotFound):
    code = "department_not_found"
    default_message = "科室不存在"


class DoctorNotFound(NotFound):
    code = "doctor_not_found"
    default_message = "医生不存在"


class DoctorNotInDepartment(InvalidInput):
    code = "doctor_not_in_department"
    default_message = "该医生不属于所选科室"


class OnlinePracticeTooShort(InvalidInput):
    code = "online_practice_too_short"
    default_message = (
        "线上出诊的医生须独立执业满三年（互联网诊疗管理办法第二十五条），请先在人员资料中填写执业起始日期"
    )


class TemplateNotFound(NotFound):
    code = "schedule_template_not_found"
    default_message = "排班计划不存在"


class InvalidSchedule(InvalidInput):
    code = "invalid_schedule"
    default_message = "排班时间有误"


class UnknownChannel(InvalidInput):
    code = "unknown_channel"
    default_message = "配额中有不存在或已停用的渠道"


class QuotasExceedCapacity(InvalidInput):
    code = "quotas_exceed_capacity"
    default_message = "各渠道配额之和不能超过号源总数"


class TemplateOverlaps(Conflict):
    code = "schedule_template_overlaps"
    default_message = "该号别在同一周几的同一时段已有有效期重叠的排班计划"


class InvalidHoliday(InvalidInput):
    code = "invalid_holiday"
    default_message = "只有调休上班日可以指定按周几排班"


class HolidayNotFound(NotFound):
    code = "holiday_not_found"
    default_message = "该日不是节假日"


class InvalidDateRange(InvalidInput):
    code = "invalid_date_range"
    default_message = "日期范围有误"


class ClinicSessionNotFound(NotFound):
    code = "clinic_session_not_found"
    default_message = "出诊信息不存在"


class ClinicSessionExists(Conflict):
    code = "clinic_session_exists"
    default_message = "该号别在该日的该时段已有出诊"


class ClinicSessionNotOpen(Conflict):
    code = "clinic_session_not_open"
    default_message = "该出诊已停诊或已取消"


class ClinicSessionOver(Conflict):
    code = "clinic_session_over"
    default_message = "该出诊已结束"


class ClinicSessionHasBookings(Conflict):
    code = "clinic_session_has_bookings"
    default_message = "该出诊已有患者预约，不能直接取消；请办理停诊（将通知患者并退费）"


class HospitalWideSetting(Forbidden):
    code = "hospital_wide_setting"
    default_message = "仅限部分院区的账号不能修改全院设置"


class NotABookingRule(InvalidInput):
    code = "not_a_booking_rule"
    default_message = "这里只能修改预约与黑名单规则"


class NotADepartmentRule(InvalidInput):
    code = "not_a_department_rule"
    default_message = "该规则不能按科室单独设置"


class InvalidSameDayHours(InvalidInput):
    code = "invalid_same_day_hours"
    default_message = "当日挂号开始时间须早于截止时间"


# ---------------------------------------------------------------------------------------------
# helpers


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool | int | str | dict | list) else str(value)


def _apply(row: object, changes: dict[str, Any]) -> dict[str, list[object]]:
    """Set the changed fields; the audit details {field: [old, new]} of those that really changed."""
    changed = {}
    for field, value in changes.items():
        old = getattr(row, field)
        if old != value:
            changed[field] = [_plain(old), _plain(value)]
            setattr(row, field, value)
    return changed


def _require_hospital_wide(caller: Caller) -> None:
    if caller.campus_ids is not None:
        raise HospitalWideSetting()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# ---------------------------------------------------------------------------------------------
# slot types (号类, SL-01)


async def create_slot_type(
    session: AsyncSession,
    caller: Caller,
    *,
    code: str,
    name: str,
    fee_fen: int,
    item_code: str,
    sort_order: int,
) -> SlotType:
    _require_hospital_wide(caller)
    slot_type = SlotType(code=code, name=name, fee_fen=fee_fen, item_code=item_code, sort_order=sort_order)
    if not await insert_unique(session, slot_type):
        raise SlotTypeExists()
    await audit.record(
        session,
        caller,
        "slot_type.create",
        target_kind="slot_types",
        target_id=code,
        details={"name": name, "fee_fen": fee_fen, "item_code": item_code},
    )
    return slot_type


async def update_slot_type(session: AsyncSession, caller: Caller, code: str, **changes: Any) -> SlotType:
    _require_hospital_wide(caller)
    slot_type = await session.get(SlotType, code)
    if slot_type is None:
        raise SlotTypeNotFound()
    changed = _apply(slot_type, changes)
    await session.flush()
    await audit.record(
        session, caller, "slot_type.update", target_kind="slot_types", target_id=code, details=changed
    )
    return slot_type


# ---------------------------------------------------------------------------------------------
# registration kinds (号别, SL-02)


async def _department_in_scope(session: AsyncSession, caller: Caller, department_id: uuid.UUID) -> Department:
    department = await repository.department(session, department_id)
    if department is None or not caller.may_see_campus(department.campus_id):
        raise DepartmentNotFound()
    return department


async def _check_kind(
    session: AsyncSession, caller: Caller, kind: RegistrationKind, changed: Collection[str]
) -> None:
    """Check what changed (a kind whose doctor has since left can still be renamed or retired)."""
    department = await _department_in_scope(session, caller, kind.department_id)
    kind.campus_id = department.campus_id
    if "slot_type_code" in changed:
        slot_type = await session.get(SlotType, kind.slot_type_code)
        if slot_type is None:
            raise SlotTypeNotFound()
        if not slot_type.is_active:
            raise SlotTypeRetired()
    if kind.doctor_id is None or not {"doctor_id", "department_id", "is_online"} & set(changed):
        return
    doctor = await session.get(Staff, kind.doctor_id)
    if doctor is None or not doctor.is_active or not await repository.is_doctor(session, doctor.id):
        raise DoctorNotFound()
    if kind.department_id not in await repository.doctor_departments(session, doctor.id):
        raise DoctorNotInDepartment()
    if kind.is_online and (
        doctor.practice_since is None
        or doctor.practice_since > _years_before(local_today(), ONLINE_PRACTICE_YEARS)
    ):
        raise OnlinePracticeTooShort()


async def create_registration_kind(
    session: AsyncSession,
    caller: Caller,
    *,
    name: str,
    slot_type_code: str,
    department_id: uuid.UUID,
    doctor_id: uuid.UUID | None,
    disease: str | None,
    fee_fen: int | None,
    is_online: bool,
) -> RegistrationKind:
    kind = RegistrationKind(
        name=name,
        slot_type_code=slot_type_code,
        department_id=department_id,
        doctor_id=doctor_id,
        disease=disease,
        fee_fen=fee_fen,
        is_online=is_online,
        is_active=True,
    )
    await _check_kind(session, caller, kind, KIND_FIELDS)
    session.add(kind)
    await session.flush()
    await audit.record(
        session,
        caller,
        "registration_kind.create",
        target_kind="registration_kinds",
        target_id=kind.id,
        details={
            "name": name,
            "slot_type": slot_type_code,
            "department": str(department_id),
            "doctor": str(doctor_id) if doctor_id else None,
            "fee_fen": fee_fen,
            "is_online": is_online,
        },
    )
    return kind


async def registration_kind_in_scope(
    session: AsyncSession, caller: Caller, kind_id: uuid.UUID
) -> RegistrationKind:
    kind = await session.get(RegistrationKind, kind_id)
    if kind is None or not caller.may_see_campus(kind.campus_id):
        raise RegistrationKindNotFound()
    return kind


async def update_registration_kind(
    session: AsyncSession, caller: Caller, kind_id: uuid.UUID, **changes: Any
) -> RegistrationKind:
    kind = await registration_kind_in_scope(session, caller, kind_id)
    changed = _apply(kind, changes)
    await _check_kind(session, caller, kind, changed)
    await session.flush()
    await audit.record(
        session,
        caller,
        "registration_kind.update",
        target_kind="registration_kinds",
        target_id=kind.id,
        details=changed,
    )
    return kind


# ---------------------------------------------------------------------------------------------
# booking channels


async def create_channel(
    session: AsyncSession, caller: Caller, *, code: str, name: str, sort_order: int
) -> BookingChannel:
    _require_hospital_wide(caller)
    if code == POOL:
        raise ReservedChannel()
    channel = BookingChannel(code=code, name=name, sort_order=sort_order)
    if not await insert_unique(session, channel):
        raise ChannelExists()
    await audit.record(
        session,
        caller,
        "channel.create",
        target_kind="booking_channels",
        target_id=code,
        details={"name": name},
    )
    return channel


async def update_channel(session: AsyncSession, caller: Caller, code: str, **changes: Any) -> BookingChannel:
    """Rename, reorder or retire a channel. A retired channel's quotas go to the shared pool in the
    sessions generated afterwards; places already generated for it return to the pool at ``pool_at``."""
    _require_hospital_wide(caller)
    channel = await session.get(BookingChannel, code)
    if channel is None:
        raise ChannelNotFound()
    changed = _apply(channel, changes)
    await session.flush()
    await audit.record(
        session, caller, "channel.update", target_kind="booking_channels", target_id=code, details=changed
    )
    return channel


# ---------------------------------------------------------------------------------------------
# holidays (SL-06)


async def set_holiday(
    session: AsyncSession,
    caller: Caller,
    day: date,
    *,
    name: str,
    is_workday: bool,
    works_as_weekday: int | None,
) -> tuple[Holiday, int]:
    """Mark a day as a holiday or a make-up working day; also says how many open sessions the day has
    already (generated before the holiday was known: those need a suspension)."""
    _require_hospital_wide(caller)
    if works_as_weekday is not None and not is_workday:
        raise InvalidHoliday()
    fields = {"name": name, "is_workday": is_workday, "works_as_weekday": works_as_weekday}
    holiday = await session.get(Holiday, day)
    if holiday is None:
        holiday = Holiday(day=day, **fields)
        if not await insert_unique(session, holiday):  # set by someone else a moment ago: update theirs
            holiday = await session.get_one(Holiday, day)
    changed = _apply(holiday, fields)
    await session.flush()
    await audit.record(
        session,
        caller,
        "holiday.set",
        target_kind="holidays",
        target_id=day.isoformat(),
        details={
            "name": name,
            "is_workday": is_workday,
            "works_as_weekday": works_as_weekday,
            "changed": changed,
        },
    )
    return holiday, await repository.open_sessions_on(session, day)


async def delete_holiday(session: AsyncSession, caller: Caller, day: date) -> None:
    _require_hospital_wide(caller)
    holiday = await session.get(Holiday, day)
    if holiday is None:
        raise HolidayNotFound()
    details = {"name": holiday.name, "is_workday": holiday.is_workday}
    await session.delete(holiday)
    await session.flush()
    await audit.record(
        session, caller, "holiday.delete", target_kind="holidays", target_id=day.isoformat(), details=details
    )


# ---------------------------------------------------------------------------------------------
# schedule templates (排班计划, SL-03)


async def _check_places(
    session: AsyncSession, *, starts: time, ends: time, capacity: int, quotas: dict[str, int]
) -> None:
    if starts >= ends:
        raise InvalidSchedule("结束时间须晚于开始时间")
    unknown = sorted(set(quotas) - await active_channels(session))
    if unknown:
        raise UnknownChannel(f"配额中有不存在或已停用的渠道：{'、'.join(unknown)}")
    if any(count < 0 for count in quotas.values()):
        raise InvalidSchedule("渠道配额不能为负数")
    if sum(quotas.values()) > capacity:
        raise QuotasExceedCapacity(f"各渠道配额之和（{sum(quotas.values())}）超过号源总数（{capacity}）")


async def _check_template(
    session: AsyncSession, template: ScheduleTemplate, changed: Collection[str]
) -> None:
    """Check what changed: retiring a template whose quota names a since-retired channel must still work."""
    if {"starts", "ends", "capacity", "quotas"} & set(changed):
        await _check_places(
            session,
            starts=template.starts,
            ends=template.ends,
            capacity=template.capacity,
            quotas=template.quotas,
        )
    if template.valid_until is not None and template.valid_until < template.valid_from:
        raise InvalidSchedule("有效期截止日期不能早于开始日期")
    if template.is_active and {"weekday", "period", "valid_from", "valid_until", "is_active"} & set(changed):
        overlapping = await repository.overlapping_template(session, template, exclude_id=template.id)
        if overlapping is not None:
            raise TemplateOverlaps()


async def create_template(
    session: AsyncSession, caller: Caller, *, registration_kind_id: uuid.UUID, **fields: Any
) -> ScheduleTemplate:
    kind = await registration_kind_in_scope(session, caller, registration_kind_id)
    if not kind.is_active:
        raise RegistrationKindRetired()
    template = ScheduleTemplate(registration_kind_id=kind.id, is_active=True, **fields)
    await _check_template(session, template, TEMPLATE_FIELDS)
    session.add(template)
    await session.flush()
    await audit.record(
        session,
        caller,
        "schedule_template.create",
        target_kind="schedule_templates",
        target_id=template.id,
        details={"registration_kind": str(kind.id)} | {key: _plain(value) for key, value in fields.items()},
    )
    return template


async def template_in_scope(
    session: AsyncSession, caller: Caller, template_id: uuid.UUID
) -> ScheduleTemplate:
    template = await session.get(ScheduleTemplate, template_id)
    if template is None:
        raise TemplateNotFound()
    await registration_kind_in_scope(session, caller, template.registration_kind_id)
    return template


async def update_template(
    session: AsyncSession, caller: Caller, template_id: uuid.UUID, **changes: Any
) -> ScheduleTemplate:
    """Change a template; sessions generated before keep their places (suspend or cancel those)."""
    template = await template_in_scope(session, caller, template_id)
    changed = _apply(template, changes)
    await _check_template(session, template, changed)
    await session.flush()
    await audit.record(
        session,
        caller,
        "schedule_template.update",
        target_kind="schedule_templates",
        target_id=template.id,
        details=changed,
    )
    return template


# ---------------------------------------------------------------------------------------------
# booking rules (SL-07)


def _booking_rule(key: str) -> rules.RuleDefinition:
    definition = rules.RULES.get(key)
    if definition is None or not key.startswith(BOOKING_RULE_PREFIXES):
        raise NotABookingRule()
    return definition


@dataclass(frozen=True)
class RuleValue:
    definition: rules.RuleDefinition
    value: int
    is_overridden: bool = False


async def booking_rules(session: AsyncSession) -> list[RuleValue]:
    values = await rules.all_rules(session)
    return [
        RuleValue(rules.RULES[key], value)
        for key, value in values.items()
        if key.startswith(BOOKING_RULE_PREFIXES)
    ]


async def department_rules(
    session: AsyncSession, caller: Caller, department_id: uuid.UUID
) -> list[RuleValue]:
    """The rules a department may override, with its values (its own, or the hospital's)."""
    await _department_in_scope(session, caller, department_id)
    hospital = await rules.all_rules(session)
    overrides = await repository.department_overrides(session, department_id)
    return [
        RuleValue(rules.RULES[key], overrides.get(key, hospital[key]), is_overridden=key in overrides)
        for key in DEPARTMENT_RULE_KEYS
    ]


async def _check_same_day_hours(
    session: AsyncSession, key: str, value: int | None, department_id: uuid.UUID | None
) -> None:
    """Same-day registration opens before it closes. Checked before the change, with the values in force:
    reading the rules after an uncommitted change would keep that value in the process cache."""
    start_key, end_key = "booking.same_day_start_minute", "booking.same_day_end_minute"
    if key not in (start_key, end_key):
        return
    new = value if value is not None else await rules.get_rule(session, key)
    other = await rules.get_department_rule(
        session, end_key if key == start_key else start_key, department_id
    )
    start, end = (new, other) if key == start_key else (other, new)
    if start >= end:
        raise InvalidSameDayHours()


async def set_booking_rule(session: AsyncSession, caller: Caller, key: str, value: int) -> RuleValue:
    """Change a hospital-wide booking rule (audited by the rules module)."""
    definition = _booking_rule(key)
    _require_hospital_wide(caller)
    await _check_same_day_hours(session, key, value, None)
    checked = await rules.set_rule(session, caller, key, value)
    if key in RELEASE_RULE_KEYS:
        await _follow_release_rules(session, caller, department_id=None)
    return RuleValue(definition, checked)


async def set_department_booking_rule(
    session: AsyncSession, caller: Caller, department_id: uuid.UUID, key: str, value: int | None
) -> RuleValue:
    """Override a booking rule for a department, or (None) return it to the hospital's value."""
    _booking_rule(key)
    if key not in DEPARTMENT_RULE_KEYS:
        raise NotADepartmentRule()
    await _department_in_scope(session, caller, department_id)
    await _check_same_day_hours(session, key, value, department_id)
    await rules.set_department_rule(session, caller, key, department_id, value)
    if key in RELEASE_RULE_KEYS:
        await _follow_release_rules(session, caller, department_id=department_id)
    [found] = [r for r in await department_rules(session, caller, department_id) if r.definition.key == key]
    return found


async def _follow_release_rules(
    session: AsyncSession, caller: Caller, *, department_id: uuid.UUID | None
) -> None:
    """Sessions not yet released (and quotas not yet pooled) take the new times; released ones keep theirs:
    nobody loses a place that was bookable a moment ago."""
    at = now()
    moved = 0
    for clinic in await repository.sessions_awaiting_release(session, at, department_id):
        release_at, pool_at = await release_times(
            session, department_id=clinic.department_id, day=clinic.session_date, starts_at=clinic.starts_at
        )
        before = (clinic.release_at, clinic.pool_at)
        if clinic.release_at > at:
            clinic.release_at = release_at
        if clinic.pool_at > at:
            clinic.pool_at = pool_at
        moved += (clinic.release_at, clinic.pool_at) != before
    # What was read above is not committed yet: let no later request of this process be served it from the
    # cache should this transaction roll back.
    rules.forget_cached_rules()
    await session.flush()
    if moved:
        await audit.record(
            session,
            caller,
            "clinic_session.release_times",
            target_kind="departments" if department_id else None,
            target_id=department_id,
            details={"sessions": moved},
        )


# ---------------------------------------------------------------------------------------------
# generation (SL-03, SL-04, SL-06)


@dataclass(frozen=True)
class SessionPlan:
    id: uuid.UUID | None
    template_id: uuid.UUID | None
    registration_kind_id: uuid.UUID
    kind_name: str
    department_id: uuid.UUID
    department_name: str
    doctor_id: uuid.UUID | None
    doctor_name: str | None
    session_date: date
    period: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    is_online: bool
    room: str | None
    release_at: datetime
    pool_at: datetime


@dataclass(frozen=True)
class Generation:
    preview: bool
    sessions: list[SessionPlan]
    skipped_existing: int
    holidays: list[date]
    make_up_days: list[date]


async def generate(
    session: AsyncSession,
    caller: Caller,
    *,
    date_from: date,
    date_to: date,
    template_ids: Sequence[uuid.UUID] | None,
    preview: bool,
) -> Generation:
    """The sessions the templates make over the dates (holidays skipped, make-up days worked); with
    ``preview`` nothing is written. A session that exists already is left as it is: the unique key of
    kind, date and period decides, even against a generation running at the same moment."""
    if date_from > date_to or (date_to - date_from).days >= MAX_GENERATE_DAYS:
        raise InvalidDateRange(f"请选择不超过 {MAX_GENERATE_DAYS} 天的日期范围")
    if date_from < local_today():
        raise InvalidDateRange("不能为已过去的日期生成出诊")
    if template_ids:
        campuses = await repository.templates_by_ids(session, template_ids)
        if set(template_ids) - campuses.keys() or not all(map(caller.may_see_campus, campuses.values())):
            raise TemplateNotFound()
    planned = await plan(
        session, date_from=date_from, date_to=date_to, template_ids=template_ids, campus_ids=caller.campus_ids
    )
    existing = await repository.generated_sessions(
        session, date_from=date_from, date_to=date_to, template_ids=template_ids, campus_ids=caller.campus_ids
    )
    department_names, doctor_names = await repository.names(
        session,
        department_ids={p.kind.department_id for p in planned},
        staff_ids={p.kind.doctor_id for p in planned if p.kind.doctor_id},
    )
    channels = await active_channels(session)
    results = []
    for item in planned:
        kind, template = item.kind, item.template
        clinic_id = None
        if preview:
            release_at, pool_at = await release_times(
                session, department_id=kind.department_id, day=item.day, starts_at=item.starts_at
            )
        else:
            try:
                async with session.begin_nested():
                    clinic = await create_session(session, item, channels=channels)
            except IntegrityError:  # made by a generation running at the same moment
                existing += 1
                continue
            clinic_id, release_at, pool_at = clinic.id, clinic.release_at, clinic.pool_at
        results.append(
            SessionPlan(
                id=clinic_id,
                template_id=template.id,
                registration_kind_id=kind.id,
                kind_name=kind.name,
                department_id=kind.department_id,
                department_name=department_names.get(kind.department_id, ""),
                doctor_id=kind.doctor_id,
                doctor_name=doctor_names.get(kind.doctor_id) if kind.doctor_id else None,
                session_date=item.day,
                period=template.period,
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                capacity=template.capacity,
                is_online=kind.is_online,
                room=template.room,
                release_at=release_at,
                pool_at=pool_at,
            )
        )
    days = await repository.holidays(session, date_from, date_to)
    if not preview:
        await audit.record(
            session,
            caller,
            "schedule.generate",
            target_kind="clinic_sessions",
            details={
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
                "templates": [str(t) for t in template_ids] if template_ids else None,
                "created": len(results),
                "skipped_existing": existing,
            },
        )
    return Generation(
        preview=preview,
        sessions=results,
        skipped_existing=existing,
        holidays=[d.day for d in days if not d.is_workday],
        make_up_days=[d.day for d in days if d.is_workday],
    )


# ---------------------------------------------------------------------------------------------
# sessions by hand: same-day online clinics and extra clinics (SL-03)


async def add_clinic_session(
    session: AsyncSession,
    caller: Caller,
    *,
    registration_kind_id: uuid.UUID,
    session_date: date,
    period: str,
    starts: time,
    ends: time,
    average_minutes: int,
    capacity: int,
    room: str | None,
    quotas: dict[str, int],
) -> ClinicSession:
    """Add a session of a kind for a date, today included, with its places like a generated one. A
    holiday does not stop it: adding by hand is the office's explicit decision."""
    kind = await registration_kind_in_scope(session, caller, registration_kind_id)
    if not kind.is_active:
        raise RegistrationKindRetired()
    slot_type = await session.get_one(SlotType, kind.slot_type_code)
    if not slot_type.is_active:
        raise SlotTypeRetired()
    await _check_places(session, starts=starts, ends=ends, capacity=capacity, quotas=quotas)
    starts_at, ends_at = local_instant(session_date, starts), local_instant(session_date, ends)
    if session_date < local_today() or ends_at <= now():
        raise InvalidSchedule("不能添加已经结束的出诊")
    try:
        async with session.begin_nested():
            clinic = await add_session(
                session,
                kind,
                day=session_date,
                period=period,
                starts_at=starts_at,
                ends_at=ends_at,
                average_minutes=average_minutes,
                capacity=capacity,
                room=room,
                quotas=quotas,
            )
    except IntegrityError:
        raise ClinicSessionExists() from None
    await audit.record(
        session,
        caller,
        "clinic_session.add",
        target_kind="clinic_sessions",
        target_id=clinic.id,
        details={
            "registration_kind": str(kind.id),
            "date": session_date.isoformat(),
            "period": period,
            "capacity": capacity,
            "quotas": quotas,
        },
    )
    return clinic


async def session_in_scope(
    session: AsyncSession, caller: Caller, clinic_session_id: uuid.UUID
) -> ClinicSession:
    clinic = await session.get(ClinicSession, clinic_session_id)
    if clinic is None or not caller.may_see_campus(clinic.campus_id):
        raise ClinicSessionNotFound()
    return clinic


async def _refuse_if_booked(session: AsyncSession, clinic_session_id: uuid.UUID, at: datetime) -> None:
    live = await repository.live_bookings(session, clinic_session_id, at)
    if live:
        raise ClinicSessionHasBookings(
            f"该出诊已有 {live} 个有效预约，不能直接取消；请办理停诊（将通知患者并退费）",
            details={"live_bookings": live},
        )


async def cancel_clinic_session(
    session: AsyncSession, caller: Caller, clinic_session_id: uuid.UUID, *, reason: str
) -> ClinicSession:
    """Cancel a session nobody holds a place in. Its places are blocked with the hold's own condition
    first, so a booker racing the cancellation either got the place (and the cancellation is refused)
    or finds it gone. A session with bookings is suspended instead, which tells and refunds the patients."""
    clinic = await session_in_scope(session, caller, clinic_session_id)
    at = now()
    if clinic.state != "open":
        raise ClinicSessionNotOpen()
    if clinic.ends_at <= at:
        raise ClinicSessionOver()
    # Asked before blocking too, so that a session with bookings is refused without locking its places
    # (on PostgreSQL, bookers skip locked places: they would be told "sold out" for as long as this lasts).
    await _refuse_if_booked(session, clinic.id, at)
    await repository.block_available_places(session, clinic.id, at)
    await _refuse_if_booked(session, clinic.id, at)
    await repository.end_lapsed_holds(session, clinic.id, at)
    clinic.state = "cancelled"
    await session.flush()
    await audit.record(
        session,
        caller,
        "clinic_session.cancel",
        target_kind="clinic_sessions",
        target_id=clinic.id,
        details={"reason": reason, "date": clinic.session_date.isoformat(), "period": clinic.period},
    )
    return clinic


# ---------------------------------------------------------------------------------------------
# availability for browsing: a count query cached about a second per process (no counter row)

COUNT_CACHE_SECONDS = 1.0
_COUNT_CACHE_LIMIT = 20_000
_segment_cache: dict[uuid.UUID, tuple[float, datetime, list[repository.SegmentRow]]] = {}


def forget_cached_counts() -> None:
    _segment_cache.clear()


async def _segments(
    session: AsyncSession, session_ids: Collection[uuid.UUID], at: datetime
) -> dict[uuid.UUID, list[repository.SegmentRow]]:
    """Places and available places by segment and channel, at most about a second old. A hit also needs
    the clock not to have moved back or on (tests move it), so what is served was true just now."""
    tick = monotonic_time.monotonic()
    found: dict[uuid.UUID, list[repository.SegmentRow]] = {}
    missing = []
    for session_id in session_ids:
        hit = _segment_cache.get(session_id)
        if hit and hit[0] > tick and hit[1] <= at < hit[1] + timedelta(seconds=COUNT_CACHE_SECONDS):
            found[session_id] = hit[2]
        else:
            missing.append(session_id)
    if missing:
        if len(_segment_cache) > _COUNT_CACHE_LIMIT:
            for stale in [key for key, hit in _segment_cache.items() if hit[0] <= tick]:
                del _segment_cache[stale]
        fresh = await repository.segment_availability(session, missing, at)
        for session_id, rows in fresh.items():
            _segment_cache[session_id] = (tick + COUNT_CACHE_SECONDS, at, rows)
        found.update(fresh)
    return found


def _usable(clinic: ClinicSession, channel: str, at: datetime) -> bool:
    # The hold's channel rule: its own places and the shared pool; after pool_at, any channel's places.
    return at >= clinic.pool_at or channel in (APP_CHANNEL, POOL)


@dataclass(frozen=True)
class Segment:
    starts_at: datetime
    ends_at: datetime
    available: int


def _app_segments(clinic: ClinicSession, rows: list[repository.SegmentRow], at: datetime) -> list[Segment]:
    """The segments the app may book in, with their available places."""
    totals: dict[tuple[datetime, datetime], int] = {}
    for row in rows:
        if _usable(clinic, row.channel, at):
            key = (row.starts_at, row.ends_at)
            totals[key] = totals.get(key, 0) + row.available
    return [Segment(starts, ends, free) for (starts, ends), free in sorted(totals.items())]


@dataclass(frozen=True)
class PatientSession:
    row: repository.SessionRow
    kind: repository.KindRow
    title_name: str | None
    state: str
    opens_at: datetime | None
    available: int
    segments: list[Segment]


async def _patient_state(
    session: AsyncSession, clinic: ClinicSession, available: int, at: datetime
) -> tuple[str, datetime | None]:
    """The state the hold would find: stopped, closed, not released (and when), full or available."""
    if clinic.state != "open":
        return "stopped", None
    if at >= clinic.ends_at:
        return "closed", None
    if clinic.session_date == local_today():
        start = await rules.get_department_rule(
            session, "booking.same_day_start_minute", clinic.department_id
        )
        end = await rules.get_department_rule(session, "booking.same_day_end_minute", clinic.department_id)
        minute = local_now().hour * 60 + local_now().minute
        if minute < start:
            return "not_released", local_instant(clinic.session_date, time(start // 60, start % 60))
        if minute >= end:
            return "closed", None
    elif at < clinic.release_at:
        return "not_released", clinic.release_at
    return ("available" if available else "full"), None


async def _patient_sessions(
    session: AsyncSession, rows: list[repository.SessionRow], at: datetime
) -> list[PatientSession]:
    segments = await _segments(session, [r.clinic.id for r in rows], at)
    kinds = await repository.kinds_with_types(session, {r.clinic.registration_kind_id for r in rows})
    titles = await _titles_of(session, {r.clinic.doctor_id for r in rows if r.clinic.doctor_id})
    found = []
    for row in rows:
        clinic = row.clinic
        usable = _app_segments(clinic, segments.get(clinic.id, []), at)
        available = sum(s.available for s in usable)
        state, opens_at = await _patient_state(session, clinic, available, at)
        found.append(
            PatientSession(
                row,
                kinds[clinic.registration_kind_id],
                titles.get(clinic.doctor_id) if clinic.doctor_id else None,
                state,
                opens_at,
                available,
                usable,
            )
        )
    return found


async def _labels(session: AsyncSession, dictionary: str) -> dict[str, str]:
    """Labels of a dictionary's codes, retired entries included (a doctor keeps the title he was given)."""
    return {e.code: e.label for e in await dictionaries.entries(session, dictionary, include_inactive=True)}


async def _titles_of(session: AsyncSession, doctor_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not doctor_ids:
        return {}
    labels = await _labels(session, "professional_title")
    titles = await repository.professional_titles(session, doctor_ids)
    return {doctor_id: labels.get(title, title) for doctor_id, title in titles.items()}


async def _window(
    session: AsyncSession, *, department_id: uuid.UUID | None = None, doctor_id: uuid.UUID | None = None
) -> list[repository.SessionRow]:
    """Sessions from now to the end of the booking window (each department's own days ahead) and a week
    beyond it: those show as not released, with their release time, so patients know when to come back."""
    today = local_today()
    furthest = rules.definition("booking.days_ahead").maximum + SCHEDULE_LOOKAHEAD_DAYS
    rows = await repository.sessions(
        session,
        repository.SessionQuery(
            date_from=today,
            date_to=today + timedelta(days=furthest),
            department_id=department_id,
            doctor_id=doctor_id,
        ),
        None,
        ending_after=now(),
    )
    kept = []
    for row in rows:
        days_ahead = await rules.get_department_rule(session, "booking.days_ahead", row.clinic.department_id)
        if row.clinic.session_date <= today + timedelta(days=days_ahead + SCHEDULE_LOOKAHEAD_DAYS):
            kept.append(row)
    return kept


@dataclass(frozen=True)
class Schedule:
    sessions: list[PatientSession]
    weekly: list[tuple[ScheduleTemplate, str]]


async def department_schedule(session: AsyncSession, department_id: uuid.UUID) -> Schedule:
    department = await repository.department(session, department_id)
    if department is None or not department.is_active:
        raise DepartmentNotFound()
    rows = await _window(session, department_id=department_id)
    return Schedule(
        await _patient_sessions(session, rows, now()),
        await repository.weekly_clinics(session, today=local_today(), department_id=department_id),
    )


async def _public_doctor(session: AsyncSession, doctor_id: uuid.UUID) -> Staff:
    """An active member of staff holding the doctor role; anyone else is not in the directory."""
    found = await repository.doctors(session, doctor_id=doctor_id)
    if not found:
        raise DoctorNotFound()
    return found[0]


async def doctor_schedule(session: AsyncSession, doctor_id: uuid.UUID) -> Schedule:
    await _public_doctor(session, doctor_id)
    rows = await _window(session, doctor_id=doctor_id)
    return Schedule(
        await _patient_sessions(session, rows, now()),
        await repository.weekly_clinics(session, today=local_today(), doctor_id=doctor_id),
    )


async def clinic_session_for_patient(session: AsyncSession, clinic_session_id: uuid.UUID) -> PatientSession:
    row = await repository.session_row(session, clinic_session_id)
    if row is None:
        raise ClinicSessionNotFound()
    [found] = await _patient_sessions(session, [row], now())
    return found


# ---------------------------------------------------------------------------------------------
# the directory (PT-22) and search (PT-24)


@dataclass(frozen=True)
class ClinicCampus:
    campus: Any
    departments: list[repository.DepartmentRow]


async def clinic_campuses(session: AsyncSession, *, campus_id: uuid.UUID | None) -> list[ClinicCampus]:
    rows = await repository.clinic_departments(session, campus_id=campus_id)
    by_campus: dict[uuid.UUID, list[repository.DepartmentRow]] = {}
    for row in rows:
        by_campus.setdefault(row.department.campus_id, []).append(row)
    return [ClinicCampus(c, by_campus[c.id]) for c in await repository.campuses(session, by_campus.keys())]


@dataclass(frozen=True)
class DoctorCard:
    doctor: Staff
    title_name: str | None
    post_name: str | None
    photo: Any
    departments: list[str]
    kinds: list[repository.KindRow]


def _title_rank(title: str | None) -> int:
    if title in TITLE_ORDER:
        return TITLE_ORDER.index(title)
    return len(TITLE_ORDER) + (title is None)


async def _cards(session: AsyncSession, doctors: Sequence[Staff]) -> list[DoctorCard]:
    """Cards in directory order: by title (主任医师 first), then the hospital's rank, then name."""
    ids = [d.id for d in doctors]
    titles = await _labels(session, "professional_title")
    posts = await _labels(session, "post")
    photos = await repository.stored_files(session, {d.photo_file_id for d in doctors if d.photo_file_id})
    departments = await repository.department_names_of(session, ids)
    kinds: dict[uuid.UUID, list[repository.KindRow]] = {}
    for row in await repository.bookable_kinds(session, doctor_ids=ids):
        if row.kind.doctor_id is not None:
            kinds.setdefault(row.kind.doctor_id, []).append(row)
    ordered = sorted(doctors, key=lambda d: (_title_rank(d.professional_title), d.rank, d.name, d.id))
    return [
        DoctorCard(
            doctor=d,
            title_name=titles.get(d.professional_title, d.professional_title)
            if d.professional_title
            else None,
            post_name=posts.get(d.post, d.post) if d.post else None,
            photo=photos.get(d.photo_file_id) if d.photo_file_id else None,
            departments=departments.get(d.id, []),
            kinds=kinds.get(d.id, []),
        )
        for d in ordered
    ]


async def department_doctors(session: AsyncSession, department_id: uuid.UUID) -> list[DoctorCard]:
    """Every doctor of the department, with a clinic or not (PT-22)."""
    department = await repository.department(session, department_id)
    if department is None or not department.is_active:
        raise DepartmentNotFound()
    return await _cards(session, await repository.doctors(session, department_id=department_id))


async def doctor_card(session: AsyncSession, doctor_id: uuid.UUID) -> DoctorCard:
    [card] = await _cards(session, [await _public_doctor(session, doctor_id)])
    return card


@dataclass(frozen=True)
class SearchResult:
    departments: list[repository.DepartmentRow]
    doctors: list[DoctorCard]


SEARCH_LIMIT = 50


async def search(session: AsyncSession, *, text: str) -> SearchResult:
    """Departments holding clinics and doctors whose names contain the text (PT-24)."""
    text = text.strip()
    departments = await repository.clinic_departments(session, name=text)
    doctors = await repository.doctors(session, name=text, limit=SEARCH_LIMIT)
    return SearchResult(departments[:SEARCH_LIMIT], await _cards(session, doctors))


# ---------------------------------------------------------------------------------------------
# the staff's records (SL-08) and the doctor's own schedule (DR-07)


@dataclass(frozen=True)
class StaffSession:
    row: repository.SessionRow
    places: dict[str, int]


def _totals(by_channel: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for statuses in by_channel.values():
        for status, count in statuses.items():
            totals[status] = totals.get(status, 0) + count
    return totals


async def staff_sessions(
    session: AsyncSession, caller: Caller, query: repository.SessionQuery
) -> list[StaffSession]:
    if query.date_from > query.date_to or (query.date_to - query.date_from).days >= MAX_GENERATE_DAYS:
        raise InvalidDateRange(f"请选择不超过 {MAX_GENERATE_DAYS} 天的日期范围")
    rows = await repository.sessions(session, query, caller.campus_ids)
    counts = await repository.place_counts(session, [r.clinic.id for r in rows], now())
    return [StaffSession(r, _totals(counts.get(r.clinic.id, {}))) for r in rows]


@dataclass(frozen=True)
class Board:
    session: StaffSession
    by_channel: dict[str, dict[str, int]]
    places: list[repository.PlaceRow]


async def _session_row(
    session: AsyncSession, caller: Caller, clinic_session_id: uuid.UUID
) -> repository.SessionRow:
    row = await repository.session_row(session, clinic_session_id)
    if row is None or not caller.may_see_campus(row.clinic.campus_id):
        raise ClinicSessionNotFound()
    return row


async def staff_session(session: AsyncSession, caller: Caller, clinic_session_id: uuid.UUID) -> StaffSession:
    row = await _session_row(session, caller, clinic_session_id)
    counts = await repository.place_counts(session, [row.clinic.id], now())
    return StaffSession(row, _totals(counts.get(row.clinic.id, {})))


async def session_board(session: AsyncSession, caller: Caller, clinic_session_id: uuid.UUID) -> Board:
    """Any doctor's session as it stands now: every place with its effective status and booking."""
    row = await _session_row(session, caller, clinic_session_id)
    places = await repository.places(session, clinic_session_id, now())
    by_channel: dict[str, dict[str, int]] = {}
    for place in places:
        statuses = by_channel.setdefault(place.slot.channel, {})
        statuses[place.status] = statuses.get(place.status, 0) + 1
    return Board(StaffSession(row, _totals(by_channel)), by_channel, places)


def is_same_day(booking: Booking, clinic: ClinicSession) -> bool:
    """当日挂号: booked on the day of the visit (an advance booking was made on an earlier day)."""
    return booking.created_at.astimezone(hospital_zone()).date() == clinic.session_date


async def search_bookings(
    session: AsyncSession, caller: Caller, query: repository.BookingQuery, *, offset: int, limit: int
) -> tuple[list[repository.BookingRow], int]:
    return await repository.search_bookings(session, query, caller.campus_ids, offset=offset, limit=limit)


@dataclass(frozen=True)
class OwnSession:
    session: StaffSession
    bookings: list[repository.OwnBookingRow]


async def own_sessions(
    session: AsyncSession, caller: Caller, *, date_from: date, date_to: date
) -> list[OwnSession]:
    """The calling doctor's sessions at the campuses he may see, with their bookings."""
    query = repository.SessionQuery(date_from=date_from, date_to=date_to, doctor_id=caller.subject_id)
    found = await staff_sessions(session, caller, query)
    bookings = await repository.bookings_of_sessions(session, [s.row.clinic.id for s in found], now())
    return [OwnSession(s, bookings.get(s.row.clinic.id, [])) for s in found]
