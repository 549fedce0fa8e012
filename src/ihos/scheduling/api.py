"""The slot pool: the outpatient office's configuration and generation (``/scheduling``), the staff's
booking records and session boards, the doctor's own schedule, and the patient's browsing (``/clinics``,
no sign-in needed)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ihos.auth.caller import Caller
from ihos.auth.deps import StaffCaller, requires
from ihos.auth.permissions import Permission
from ihos.files.service import signed_link
from ihos.kit.http import DbSession
from ihos.kit.schema import Page
from ihos.kit.time import local_today
from ihos.models.scheduling import ScheduleTemplate
from ihos.scheduling import repository, service
from ihos.scheduling.schemas import (
    BookingChannelIn,
    BookingChannelOut,
    BookingChannelUpdate,
    BookingRecordOut,
    BookingRuleOut,
    BookingRuleValue,
    ClinicCampusOut,
    ClinicDepartmentOut,
    ClinicSessionDetailOut,
    ClinicSessionOut,
    DepartmentRuleValue,
    DoctorCardOut,
    GenerateIn,
    GenerateOut,
    HolidayIn,
    HolidayOut,
    HolidaySet,
    KindBrief,
    OwnBookingOut,
    OwnSessionOut,
    PlaceCounts,
    PlaceOut,
    RegistrationKindIn,
    RegistrationKindOut,
    RegistrationKindUpdate,
    ScheduledSessionOut,
    ScheduleOut,
    SearchOut,
    SessionBoardOut,
    SessionCancelIn,
    SessionIn,
    SessionPlanOut,
    SlotTypeIn,
    SlotTypeOut,
    SlotTypeUpdate,
    TemplateIn,
    TemplateOut,
    TemplateUpdate,
    TimeSegmentOut,
    WeeklyClinicOut,
)
from ihos.security.masking import mask_id_number, mask_name, mask_phone

router = APIRouter(tags=["scheduling"])
office = APIRouter(prefix="/scheduling")
clinics = APIRouter(prefix="/clinics")

Manager = Annotated[Caller, Depends(requires(Permission.SCHEDULE_MANAGE))]
BookingReader = Annotated[Caller, Depends(requires(Permission.BOOKING_READ))]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


# shaping -----------------------------------------------------------------------------------------------


def _rule_out(found: service.RuleValue) -> BookingRuleOut:
    rule = found.definition
    return BookingRuleOut(
        key=rule.key,
        label=rule.label,
        value=found.value,
        default=rule.default,
        minimum=rule.minimum,
        maximum=rule.maximum,
        unit=rule.unit,
        description=rule.description,
        is_overridden=found.is_overridden,
    )


def _session_out(found: service.StaffSession) -> ScheduledSessionOut:
    clinic = found.row.clinic
    return ScheduledSessionOut(
        id=clinic.id,
        registration_kind_id=clinic.registration_kind_id,
        kind_name=found.row.kind_name,
        campus_id=clinic.campus_id,
        department_id=clinic.department_id,
        department_name=found.row.department_name,
        doctor_id=clinic.doctor_id,
        doctor_name=found.row.doctor_name,
        session_date=clinic.session_date,
        period=clinic.period,
        starts_at=clinic.starts_at,
        ends_at=clinic.ends_at,
        room=clinic.room,
        capacity=clinic.capacity,
        fee_fen=clinic.fee_fen,
        is_online=clinic.is_online,
        state=clinic.state,
        release_at=clinic.release_at,
        pool_at=clinic.pool_at,
        is_generated=clinic.template_id is not None,
        places=PlaceCounts(**found.places),
    )


def _kind_brief(row: repository.KindRow) -> KindBrief:
    kind = row.kind
    return KindBrief(
        id=kind.id,
        name=kind.name,
        slot_type_name=row.slot_type.name,
        fee_fen=kind.fee_fen if kind.fee_fen is not None else row.slot_type.fee_fen,
        is_online=kind.is_online,
        disease=kind.disease,
    )


def _clinic_session_out(found: service.PatientSession) -> ClinicSessionOut:
    clinic = found.row.clinic
    return ClinicSessionOut(
        id=clinic.id,
        session_date=clinic.session_date,
        period=clinic.period,
        starts_at=clinic.starts_at,
        ends_at=clinic.ends_at,
        kind=_kind_brief(found.kind).model_copy(update={"fee_fen": clinic.fee_fen}),
        department_id=clinic.department_id,
        department_name=found.row.department_name,
        doctor_id=clinic.doctor_id,
        doctor_name=found.row.doctor_name,
        professional_title_name=found.title_name,
        room=clinic.room,
        state=found.state,
        opens_at=found.opens_at,
        available=found.available,
    )


def _schedule_out(schedule: service.Schedule) -> ScheduleOut:
    return ScheduleOut(
        sessions=[_clinic_session_out(s) for s in schedule.sessions],
        weekly=[_weekly_out(template, name) for template, name in schedule.weekly],
    )


def _weekly_out(template: ScheduleTemplate, kind_name: str) -> WeeklyClinicOut:
    return WeeklyClinicOut(weekday=template.weekday, period=template.period, kind_name=kind_name)


def _department_out(row: repository.DepartmentRow) -> ClinicDepartmentOut:
    department = row.department
    return ClinicDepartmentOut(
        id=department.id,
        name=department.name,
        parent_id=department.parent_id,
        parent_name=row.parent_name,
        location=department.location,
        introduction=department.introduction,
    )


def _card_out(card: service.DoctorCard) -> DoctorCardOut:
    doctor = card.doctor
    return DoctorCardOut(
        id=doctor.id,
        name=doctor.name,
        professional_title=doctor.professional_title,
        professional_title_name=card.title_name,
        post_name=card.post_name,
        speciality=doctor.speciality,
        introduction=doctor.introduction,
        photo_url=signed_link(card.photo) if card.photo else None,
        departments=card.departments,
        has_clinic=bool(card.kinds),
        kinds=[_kind_brief(k) for k in card.kinds],
    )


def _booking_out(row: repository.BookingRow) -> BookingRecordOut:
    booking, clinic, patient = row.booking, row.clinic, row.patient
    return BookingRecordOut(
        id=booking.id,
        booking_number=booking.booking_number,
        state=booking.state,
        channel=booking.channel,
        visit_kind=booking.visit_kind,
        seq=booking.seq,
        fee_fen=booking.fee_fen,
        is_same_day=service.is_same_day(booking, clinic),
        session_id=clinic.id,
        session_date=clinic.session_date,
        period=clinic.period,
        segment_starts_at=row.segment_starts_at,
        kind_name=row.kind_name,
        is_online=clinic.is_online,
        department_id=clinic.department_id,
        department_name=row.department_name,
        doctor_id=clinic.doctor_id,
        doctor_name=row.doctor_name,
        patient_id=patient.id,
        patient_name=mask_name(patient.name),
        patient_id_number=mask_id_number(patient.id_number),
        patient_phone=mask_phone(patient.phone),
        order_number=booking.order_number,
        created_at=booking.created_at,
        confirmed_at=booking.confirmed_at,
        ended_at=booking.ended_at,
        end_reason=booking.end_reason,
    )


# slot types (SL-01) ------------------------------------------------------------------------------------


@office.get("/slot-types", response_model=list[SlotTypeOut], summary="号类列表")
async def list_slot_types(session: DbSession, caller: Manager) -> list[SlotTypeOut]:
    return [SlotTypeOut.model_validate(t) for t in await repository.slot_types(session)]


@office.post("/slot-types", status_code=201, response_model=SlotTypeOut, summary="新建号类")
async def create_slot_type(body: SlotTypeIn, session: DbSession, caller: Manager) -> SlotTypeOut:
    return SlotTypeOut.model_validate(await service.create_slot_type(session, caller, **body.model_dump()))


@office.patch("/slot-types/{code}", response_model=SlotTypeOut, summary="修改号类（费用、收费项目、停用）")
async def update_slot_type(
    code: Annotated[str, Path(max_length=30)], body: SlotTypeUpdate, session: DbSession, caller: Manager
) -> SlotTypeOut:
    changes = body.model_dump(exclude_unset=True)
    return SlotTypeOut.model_validate(await service.update_slot_type(session, caller, code, **changes))


# registration kinds (SL-02) ----------------------------------------------------------------------------


@office.get("/registration-kinds", response_model=list[RegistrationKindOut], summary="号别列表")
async def list_registration_kinds(
    session: DbSession,
    caller: Manager,
    department_id: uuid.UUID | None = None,
    doctor_id: uuid.UUID | None = None,
    is_online: bool | None = None,
    is_active: bool | None = None,
) -> list[RegistrationKindOut]:
    query = repository.KindQuery(department_id, doctor_id, is_online, is_active)
    kinds = await repository.registration_kinds(session, query, caller.campus_ids)
    return [RegistrationKindOut.model_validate(k) for k in kinds]


@office.post("/registration-kinds", status_code=201, response_model=RegistrationKindOut, summary="新建号别")
async def create_registration_kind(
    body: RegistrationKindIn, session: DbSession, caller: Manager
) -> RegistrationKindOut:
    kind = await service.create_registration_kind(session, caller, **body.model_dump())
    return RegistrationKindOut.model_validate(kind)


@office.patch(
    "/registration-kinds/{kind_id}", response_model=RegistrationKindOut, summary="修改号别（含停用）"
)
async def update_registration_kind(
    kind_id: uuid.UUID, body: RegistrationKindUpdate, session: DbSession, caller: Manager
) -> RegistrationKindOut:
    changes = body.model_dump(exclude_unset=True)
    return RegistrationKindOut.model_validate(
        await service.update_registration_kind(session, caller, kind_id, **changes)
    )


# booking channels ----------------------------------------------------------------------------------------


@office.get("/channels", response_model=list[BookingChannelOut], summary="预约渠道")
async def list_channels(session: DbSession, caller: Manager) -> list[BookingChannelOut]:
    return [BookingChannelOut.model_validate(c) for c in await repository.channels(session)]


@office.post("/channels", status_code=201, response_model=BookingChannelOut, summary="新增预约渠道")
async def create_channel(body: BookingChannelIn, session: DbSession, caller: Manager) -> BookingChannelOut:
    return BookingChannelOut.model_validate(
        await service.create_channel(session, caller, **body.model_dump())
    )


@office.patch("/channels/{code}", response_model=BookingChannelOut, summary="修改预约渠道（改名、停用）")
async def update_channel(
    code: Annotated[str, Path(max_length=20)], body: BookingChannelUpdate, session: DbSession, caller: Manager
) -> BookingChannelOut:
    changes = body.model_dump(exclude_unset=True)
    return BookingChannelOut.model_validate(await service.update_channel(session, caller, code, **changes))


# holidays (SL-06) ----------------------------------------------------------------------------------------


@office.get("/holidays", response_model=list[HolidayOut], summary="节假日与调休日历")
async def list_holidays(
    session: DbSession, caller: Manager, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> list[HolidayOut]:
    year = year or local_today().year
    days = await repository.holidays(session, date(year, 1, 1), date(year, 12, 31))
    return [HolidayOut.model_validate(h) for h in days]


@office.put("/holidays/{day}", response_model=HolidaySet, summary="设置节假日或调休上班日")
async def set_holiday(day: date, body: HolidayIn, session: DbSession, caller: Manager) -> HolidaySet:
    holiday, open_sessions = await service.set_holiday(session, caller, day, **body.model_dump())
    return HolidaySet(**HolidayOut.model_validate(holiday).model_dump(), open_sessions=open_sessions)


@office.delete("/holidays/{day}", status_code=204, summary="删除节假日")
async def delete_holiday(day: date, session: DbSession, caller: Manager) -> None:
    await service.delete_holiday(session, caller, day)


# schedule templates (SL-03) ------------------------------------------------------------------------------


@office.get("/templates", response_model=list[TemplateOut], summary="排班计划")
async def list_templates(
    session: DbSession,
    caller: Manager,
    registration_kind_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    is_active: bool | None = None,
) -> list[TemplateOut]:
    found = await repository.templates(
        session,
        registration_kind_id=registration_kind_id,
        department_id=department_id,
        is_active=is_active,
        campus_ids=caller.campus_ids,
    )
    return [TemplateOut.model_validate(t) for t in found]


@office.post("/templates", status_code=201, response_model=TemplateOut, summary="新建排班计划")
async def create_template(body: TemplateIn, session: DbSession, caller: Manager) -> TemplateOut:
    return TemplateOut.model_validate(await service.create_template(session, caller, **body.model_dump()))


@office.patch("/templates/{template_id}", response_model=TemplateOut, summary="修改排班计划（含停用）")
async def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, session: DbSession, caller: Manager
) -> TemplateOut:
    changes = body.model_dump(exclude_unset=True)
    return TemplateOut.model_validate(await service.update_template(session, caller, template_id, **changes))


# booking rules (SL-07) -----------------------------------------------------------------------------------


@office.get("/rules", response_model=list[BookingRuleOut], summary="预约与黑名单规则（全院）")
async def list_rules(session: DbSession, caller: Manager) -> list[BookingRuleOut]:
    return [_rule_out(r) for r in await service.booking_rules(session)]


@office.put("/rules/{key}", response_model=BookingRuleOut, summary="修改预约规则（全院）")
async def set_rule(
    key: Annotated[str, Path(max_length=80)], body: BookingRuleValue, session: DbSession, caller: Manager
) -> BookingRuleOut:
    return _rule_out(await service.set_booking_rule(session, caller, key, body.value))


@office.get("/departments/{department_id}/rules", response_model=list[BookingRuleOut], summary="科室预约规则")
async def department_rules(
    department_id: uuid.UUID, session: DbSession, caller: Manager
) -> list[BookingRuleOut]:
    return [_rule_out(r) for r in await service.department_rules(session, caller, department_id)]


@office.put(
    "/departments/{department_id}/rules/{key}",
    response_model=BookingRuleOut,
    summary="科室单独设置预约规则（null 恢复全院设置）",
)
async def set_department_rule(
    department_id: uuid.UUID,
    key: Annotated[str, Path(max_length=80)],
    body: DepartmentRuleValue,
    session: DbSession,
    caller: Manager,
) -> BookingRuleOut:
    return _rule_out(
        await service.set_department_booking_rule(session, caller, department_id, key, body.value)
    )


# sessions: generation, by hand, cancelling (SL-03, SL-04, SL-06) -----------------------------------------


@office.post("/generate", response_model=GenerateOut, summary="按排班计划生成出诊（可先预览）")
async def generate(body: GenerateIn, session: DbSession, caller: Manager) -> GenerateOut:
    result = await service.generate(session, caller, **body.model_dump())
    return GenerateOut(
        preview=result.preview,
        sessions=[SessionPlanOut.model_validate(s) for s in result.sessions],
        skipped_existing=result.skipped_existing,
        holidays=result.holidays,
        make_up_days=result.make_up_days,
    )


@office.get("/sessions", response_model=list[ScheduledSessionOut], summary="出诊与号源状态（任意医生）")
async def list_sessions(
    session: DbSession,
    caller: BookingReader,
    date_from: date | None = None,
    date_to: date | None = None,
    department_id: uuid.UUID | None = None,
    doctor_id: uuid.UUID | None = None,
    registration_kind_id: uuid.UUID | None = None,
    state: Annotated[str | None, Query(max_length=12)] = None,
    is_online: bool | None = None,
) -> list[ScheduledSessionOut]:
    date_from = date_from or local_today()
    query = repository.SessionQuery(
        date_from=date_from,
        date_to=date_to or date_from,
        department_id=department_id,
        doctor_id=doctor_id,
        registration_kind_id=registration_kind_id,
        state=state,
        is_online=is_online,
    )
    return [_session_out(s) for s in await service.staff_sessions(session, caller, query)]


@office.post(
    "/sessions", status_code=201, response_model=ScheduledSessionOut, summary="临时加诊（含当日线上出诊）"
)
async def add_session(body: SessionIn, session: DbSession, caller: Manager) -> ScheduledSessionOut:
    clinic = await service.add_clinic_session(session, caller, **body.model_dump())
    return _session_out(await service.staff_session(session, caller, clinic.id))


@office.post(
    "/sessions/{session_id}/cancel", response_model=ScheduledSessionOut, summary="取消无人预约的出诊"
)
async def cancel_session(
    session_id: uuid.UUID, body: SessionCancelIn, session: DbSession, caller: Manager
) -> ScheduledSessionOut:
    await service.cancel_clinic_session(session, caller, session_id, reason=body.reason)
    return _session_out(await service.staff_session(session, caller, session_id))


@office.get(
    "/sessions/{session_id}/board", response_model=SessionBoardOut, summary="出诊的实时预约情况（逐号）"
)
async def session_board(session_id: uuid.UUID, session: DbSession, caller: BookingReader) -> SessionBoardOut:
    board = await service.session_board(session, caller, session_id)
    return SessionBoardOut(
        session=_session_out(board.session),
        by_channel={channel: PlaceCounts(**counts) for channel, counts in board.by_channel.items()},
        places=[
            PlaceOut(
                seq=p.slot.seq,
                starts_at=p.slot.starts_at,
                ends_at=p.slot.ends_at,
                channel=p.slot.channel,
                status=p.status,
                booking_number=p.booking.booking_number
                if p.booking and p.status in ("held", "booked")
                else None,
                booking_state=p.booking.state if p.booking and p.status in ("held", "booked") else None,
                patient_name=mask_name(p.patient_name) if p.status in ("held", "booked") else None,
            )
            for p in board.places
        ],
    )


# records (SL-08) and the doctor's own schedule (DR-07) -----------------------------------------------------


@office.get("/bookings", response_model=Page[BookingRecordOut], summary="预约挂号记录（全部渠道）")
async def search_bookings(
    session: DbSession,
    caller: BookingReader,
    date_from: Annotated[date | None, Query(description="就诊日期起")] = None,
    date_to: Annotated[date | None, Query(description="就诊日期止")] = None,
    department_id: uuid.UUID | None = None,
    doctor_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    state: Annotated[str | None, Query(max_length=12)] = None,
    is_online: bool | None = None,
    patient: Annotated[str | None, Query(max_length=40, description="姓名、身份证号或手机号（完整）")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Page[BookingRecordOut]:
    query = repository.BookingQuery(
        date_from=date_from,
        date_to=date_to,
        department_id=department_id,
        doctor_id=doctor_id,
        session_id=session_id,
        channel=channel,
        state=state,
        is_online=is_online,
        patient=patient,
    )
    rows, total = await service.search_bookings(
        session, caller, query, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(items=[_booking_out(r) for r in rows], total=total, page=page, page_size=page_size)


@office.get("/my-sessions", response_model=list[OwnSessionOut], summary="我的排班与预约（医生）")
async def my_sessions(
    session: DbSession, caller: StaffCaller, date_from: date | None = None, date_to: date | None = None
) -> list[OwnSessionOut]:
    date_from = date_from or local_today()
    found = await service.own_sessions(
        session, caller, date_from=date_from, date_to=date_to or date_from + timedelta(days=13)
    )
    return [
        OwnSessionOut(
            **_session_out(s.session).model_dump(),
            bookings=[
                OwnBookingOut(
                    booking_number=b.booking.booking_number,
                    seq=b.booking.seq,
                    segment_starts_at=b.segment_starts_at,
                    state=b.booking.state,
                    visit_kind=b.booking.visit_kind,
                    channel=b.booking.channel,
                    patient_name=mask_name(b.patient_name),
                )
                for b in s.bookings
            ],
        )
        for s in found
    ]


# the patient's browsing (PT-22, PT-24): no sign-in needed ---------------------------------------------------


@clinics.get("/campuses", response_model=list[ClinicCampusOut], summary="院区与开诊科室")
async def clinic_campuses(session: DbSession, campus_id: uuid.UUID | None = None) -> list[ClinicCampusOut]:
    return [
        ClinicCampusOut(
            id=c.campus.id,
            name=c.campus.name,
            address=c.campus.address,
            departments=[_department_out(d) for d in c.departments],
        )
        for c in await service.clinic_campuses(session, campus_id=campus_id)
    ]


@clinics.get("/search", response_model=SearchOut, summary="按科室或医生姓名搜索")
async def search(session: DbSession, q: Annotated[str, Query(min_length=1, max_length=20)]) -> SearchOut:
    found = await service.search(session, text=q)
    return SearchOut(
        departments=[_department_out(d) for d in found.departments],
        doctors=[_card_out(c) for c in found.doctors],
    )


@clinics.get(
    "/departments/{department_id}/doctors",
    response_model=list[DoctorCardOut],
    summary="科室医生（按职称排序）",
)
async def department_doctors(department_id: uuid.UUID, session: DbSession) -> list[DoctorCardOut]:
    return [_card_out(c) for c in await service.department_doctors(session, department_id)]


@clinics.get("/departments/{department_id}/schedule", response_model=ScheduleOut, summary="科室排班与号源")
async def department_schedule(department_id: uuid.UUID, session: DbSession) -> ScheduleOut:
    return _schedule_out(await service.department_schedule(session, department_id))


@clinics.get("/doctors/{doctor_id}", response_model=DoctorCardOut, summary="医生名片")
async def doctor_card(doctor_id: uuid.UUID, session: DbSession) -> DoctorCardOut:
    return _card_out(await service.doctor_card(session, doctor_id))


@clinics.get("/doctors/{doctor_id}/schedule", response_model=ScheduleOut, summary="医生排班与号源")
async def doctor_schedule(doctor_id: uuid.UUID, session: DbSession) -> ScheduleOut:
    return _schedule_out(await service.doctor_schedule(session, doctor_id))


@clinics.get("/sessions/{session_id}", response_model=ClinicSessionDetailOut, summary="出诊详情与分时段余号")
async def clinic_session(session_id: uuid.UUID, session: DbSession) -> ClinicSessionDetailOut:
    found = await service.clinic_session_for_patient(session, session_id)
    return ClinicSessionDetailOut(
        **_clinic_session_out(found).model_dump(),
        segments=[
            TimeSegmentOut(starts_at=s.starts_at, ends_at=s.ends_at, available=s.available)
            for s in found.segments
        ],
    )


router.include_router(office)
router.include_router(clinics)
