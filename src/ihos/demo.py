"""The demo hospital (``ihos demo``): two campuses, a department tree each, about forty staff in every
role, twenty patients in fourteen accounts, clinics every day with two weeks of sessions generated. Safe
to run twice: a second run changes nothing and prints the sign-ins again.

The patients are people of the sandbox real-name registry (``integrations/identity/people.json``),
verified through the same service a real patient goes through. Three registry people are left
unregistered so that a visitor can register them (郭婷婷, 何志明, 林佳怡).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth import consents
from ihos.auth.caller import Caller, command_line
from ihos.kit.time import local_today, now
from ihos.models.accounts import Account
from ihos.models.organization import Campus, Department, Hospital, Staff
from ihos.organization import service as organisation
from ihos.patients import service as patients
from ihos.security.fields import blind_index
from ihos.security.passwords import hash_password

HOSPITAL_CODE = "DEMO"
# Fixed screen tokens (like the administrators' TOTP secrets) so that the sign-ins can print the TV URLs:
# the door of 李建华's room A101 and the hall of 心血管内科. A real screen's token is shown once only.
DEMO_SCREENS = [
    ("心血管内科 A101 门口屏", "A101", "ihs_demo-room-A101-screen-token"),
    ("心血管内科候诊大厅屏", None, "ihs_demo-hall-CARD-screen-token"),
]
PASSWORD = "Ihos@2026"
# Fixed TOTP secrets so that a visitor can add the demo administrators to an authenticator app.
ADMIN_TOTP = {
    "sysadmin": ("system_admin", "系统管理员", "A0001", "IHOSDEMOSYSADMINTOTPSECRET234567"),
    "secadmin": ("security_admin", "安全管理员", "A0002", "IHOSDEMOSECADMINTOTPSECRET234567"),
    "auditadmin": ("audit_admin", "审计管理员", "A0003", "IHOSDEMOAUDITADMINTOTPSECRET2345"),
}

CAMPUSES = [
    ("MAIN", "本部院区", "成都市武侯区国学巷37号"),
    ("EAST", "东院区", "成都市锦江区东大街100号"),
]
# (campus, code, name, kind, parent code)
DEPARTMENTS = [
    ("MAIN", "IM", "内科", "clinical", None),
    ("MAIN", "CARD", "心血管内科", "clinical", "IM"),
    ("MAIN", "RESP", "呼吸内科", "clinical", "IM"),
    ("MAIN", "GAST", "消化内科", "clinical", "IM"),
    ("MAIN", "ENDO", "内分泌科", "clinical", "IM"),
    ("MAIN", "SURG", "外科", "clinical", None),
    ("MAIN", "GS", "普外科", "clinical", "SURG"),
    ("MAIN", "ORTH", "骨科", "clinical", "SURG"),
    ("MAIN", "PED", "儿科", "clinical", None),
    ("MAIN", "OBGY", "妇产科", "clinical", None),
    ("MAIN", "DERM", "皮肤科", "clinical", None),
    ("MAIN", "PHAR", "药剂科", "pharmacy", None),
    ("MAIN", "LAB", "检验科", "medical_technology", None),
    ("MAIN", "NURS", "护理部", "nursing", None),
    ("MAIN", "ADMIN", "行政办公室", "administration", None),
    ("EAST", "GP", "全科医学科", "clinical", None),
    ("EAST", "TCM", "中医科", "clinical", None),
    ("EAST", "OPH", "眼科", "clinical", None),
    ("EAST", "DENT", "口腔科", "clinical", None),
    ("EAST", "EPHAR", "东院药房", "pharmacy", None),
]
# (username, name, staff number, roles, departments (campus:code), title, post, speciality)
DOCTORS = [
    (
        "lijianhua",
        "李建华",
        "D1001",
        "MAIN:CARD",
        "chief_physician",
        "director",
        "冠心病、高血压、心力衰竭的诊治",
    ),
    ("wangli", "王丽", "D1002", "MAIN:RESP", "associate_chief_physician", None, "慢性阻塞性肺疾病、哮喘"),
    (
        "zhangming",
        "张明",
        "D1003",
        "MAIN:GAST",
        "attending_physician",
        None,
        "胃炎、消化性溃疡、肠易激综合征",
    ),
    ("zhaogang", "赵刚", "D1004", "MAIN:ORTH", "chief_physician", "deputy_director", "关节置换、运动损伤"),
    ("zhoujie", "周杰", "D1005", "MAIN:ENDO", "associate_chief_physician", None, "糖尿病、甲状腺疾病"),
    ("sunhong", "孙红", "D1006", "MAIN:PED", "chief_physician", "director", "小儿呼吸道感染、哮喘"),
    ("qianjun", "钱军", "D1007", "MAIN:GS", "attending_physician", None, "疝、胆囊疾病"),
    ("wuyan", "吴燕", "D1008", "MAIN:OBGY", "associate_chief_physician", None, "高危妊娠、妇科炎症"),
    ("zhengyu", "郑宇", "D1009", "MAIN:DERM", "attending_physician", None, "湿疹、痤疮、银屑病"),
    ("fenglin", "冯林", "D1010", "MAIN:CARD", "resident_physician", None, "心律失常"),
    ("chenmei", "陈梅", "D1011", "MAIN:RESP", "attending_physician", None, "肺结节随访"),
    ("hanbing", "韩冰", "D1012", "MAIN:PED", "attending_physician", None, "小儿消化不良"),
    ("yangfan", "杨帆", "D2001", "EAST:GP", "chief_physician", "director", "慢病管理、家庭医生签约"),
    ("xuqing", "徐青", "D2002", "EAST:TCM", "associate_chief_physician", None, "中医内科、针灸"),
    ("hejing", "何静", "D2003", "EAST:OPH", "attending_physician", None, "白内障、青光眼"),
    ("luotao", "罗涛", "D2004", "EAST:DENT", "attending_physician", None, "牙体牙髓、种植"),
    ("gaofeng", "高峰", "D2005", "EAST:GP", "resident_physician", None, "高血压、糖尿病随访"),
    ("linxue", "林雪", "D1013", "MAIN:ENDO", "attending_physician", None, "甲状腺结节"),
    ("songwei", "宋伟", "D1014", "MAIN:ORTH", "attending_physician", None, "脊柱疾病"),
    ("tangning", "唐宁", "D1015", "MAIN:GAST", "chief_physician", None, "炎症性肠病、消化内镜"),
]
OTHER_STAFF = [
    ("chenxiaoyan", "陈晓燕", "N1001", ["nurse"], ["MAIN:NURS"], "nurse_in_charge", "head_nurse"),
    ("liuyue", "刘月", "N1002", ["nurse"], ["MAIN:CARD"], "senior_nurse", None),
    ("zhoulan", "周兰", "N1003", ["nurse"], ["MAIN:PED"], "senior_nurse", None),
    ("xiaoli", "肖丽", "N2001", ["nurse"], ["EAST:GP"], "senior_nurse", None),
    ("dingxin", "丁欣", "N2002", ["nurse"], ["EAST:OPH"], "nurse", None),
    ("liufang", "刘芳", "P1001", ["pharmacist"], ["MAIN:PHAR"], "chief_pharmacist", "director"),
    ("jiangtao", "江涛", "P1002", ["pharmacist"], ["MAIN:PHAR"], "pharmacist", None),
    ("mali", "马莉", "P2001", ["pharmacist"], ["EAST:EPHAR"], "pharmacist", None),
    ("sunyue", "孙悦", "F1001", ["finance"], ["MAIN:ADMIN"], None, None),
    ("zhuhao", "朱浩", "F1002", ["finance"], ["MAIN:ADMIN"], None, None),
    ("qinlei", "秦磊", "F1003", ["finance_supervisor"], ["MAIN:ADMIN"], None, "director"),
    ("kefu1", "许晴", "C1001", ["customer_service"], ["MAIN:ADMIN"], None, None),
    ("kefu2", "邓佳", "C1002", ["customer_service"], ["MAIN:ADMIN"], None, None),
    ("bianji", "曹雯", "E1001", ["content_editor"], ["MAIN:ADMIN"], None, None),
    ("yibao", "彭程", "I1001", ["insurance_office"], ["MAIN:ADMIN"], None, None),
    ("menzhen", "钟敏", "O1001", ["outpatient_office"], ["MAIN:ADMIN"], None, "director"),
]
# Accounts: the registry person who holds it, and the family patients they add (name, relation).
ACCOUNTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("张伟", [("张子涵", "child"), ("吴建国", "parent")]),
    ("王芳", [("孙雨桐", "child")]),
    ("李娜", [("周秀英", "parent")]),
    ("刘洋", [("马浩然", "child")]),
    ("陈静", [("许嘉伟", "spouse")]),
    ("杨磊", [("朱丽华", "parent")]),
    ("赵敏", [("赵德明", "parent")]),
    ("黄强", [("黄子萱", "child")]),
    ("胡晓东", []),
    ("欧阳明轩", []),
    ("阿依古丽·买买提", []),
    ("周秀英", []),
    ("吴建国", []),
    ("朱丽华", []),
]


@dataclass(frozen=True)
class DemoPerson:
    """A demo person: name, a valid (fictitious) ID number, a phone."""

    name: str
    id_number: str
    phone: str


# Family members who never verify their own identity online, so the registry need not know them.
FAMILY_ONLY = [
    DemoPerson("许嘉伟", "310104198805120035", "13900000031"),
    DemoPerson("黄子萱", "440106201209010047", "13900000032"),
    DemoPerson("赵德明", "610113194007200056", "13900000033"),
]


def registry() -> dict[str, DemoPerson]:
    """The sandbox real-name registry's people, and the demo's family-only people, by name."""
    text = resources.files("ihos.integrations.identity").joinpath("people.json").read_text(encoding="utf-8")
    people: list[dict[str, Any]] = json.loads(text)["people"]
    known = {p["name"]: DemoPerson(p["name"], p["id_number"], p["phone"]) for p in people}
    return known | {person.name: person for person in FAMILY_ONLY}


async def seed(session: AsyncSession) -> bool:
    """Create the demo hospital; returns False when it already exists."""
    if await session.scalar(select(Hospital).where(Hospital.code == HOSPITAL_CODE)) is not None:
        return False
    cli = command_line("ihos demo")
    hospital = await organisation.create_hospital(
        session, cli, code=HOSPITAL_CODE, name="ihos 示范医院", short_name="示范医院"
    )
    admin = Caller(kind="cli", label="ihos demo", hospital_id=hospital.id)
    departments = await _organisation(session, admin, hospital)
    await _administrators(session, admin, hospital)
    await _staff(session, admin, departments)
    await _patients(session)
    await _finance(session, admin)
    await _clinic_bills(session)
    await _slot_pool(session, admin)
    await _queues_and_screens(session, departments)
    return True


async def _organisation(session: AsyncSession, caller: Caller, hospital: Hospital) -> dict[str, Department]:
    campuses: dict[str, Campus] = {}
    for order, (code, name, address) in enumerate(CAMPUSES):
        campuses[code] = await organisation.create_campus(
            session,
            caller,
            hospital_id=hospital.id,
            code=code,
            name=name,
            address=address,
            phone="028-80000000",
            sort_order=order,
        )
    departments: dict[str, Department] = {}
    for order, (campus, code, name, kind, parent) in enumerate(DEPARTMENTS):
        departments[f"{campus}:{code}"] = await organisation.create_department(
            session,
            caller,
            campus_id=campuses[campus].id,
            parent_id=departments[f"{campus}:{parent}"].id if parent else None,
            code=code,
            name=name,
            kind=kind,
            sort_order=order,
            introduction=f"{name}提供门诊和互联网复诊服务。",
            location=None,
        )
    return departments


async def _administrators(session: AsyncSession, caller: Caller, hospital: Hospital) -> None:
    for username, (role, name, number, secret) in ADMIN_TOTP.items():
        created = await organisation.create_administrator(
            session,
            caller,
            hospital_id=hospital.id,
            role=role,
            username=username,
            name=name,
            staff_number=number,
            password=PASSWORD,
        )
        _ready_to_sign_in(created.staff)
        created.staff.totp_secret = secret
        created.staff.totp_enrolled_at = now()


def _ready_to_sign_in(staff: Staff) -> None:
    """Demo accounts skip the first-sign-in password change so that a visitor can look around at once."""
    staff.password_hash = hash_password(PASSWORD)
    staff.must_change_password = False
    staff.password_changed_at = now()


async def _staff(session: AsyncSession, caller: Caller, departments: dict[str, Department]) -> None:
    people = registry()
    for rank, (username, name, number, department, title, post, speciality) in enumerate(DOCTORS):
        phone = people[name].phone if name in people else None
        created = await organisation.create_staff(
            session,
            caller,
            username=username,
            roles=["doctor"],
            department_ids=[departments[department].id],
            campus_ids=[],
            phone=phone,
            name=name,
            staff_number=number,
            professional_title=title,
            post=post,
            speciality=speciality,
            introduction=f"{name}，从事临床工作多年。擅长{speciality}。",
            practice_since=date(2005 + rank % 12, 7, 1),
            rank=len(DOCTORS) - rank,
            is_accepting_consultations=True,
            sex=None,
        )
        _ready_to_sign_in(created.staff)
    for username, name, number, roles, staff_departments, staff_title, staff_post in OTHER_STAFF:
        created = await organisation.create_staff(
            session,
            caller,
            username=username,
            roles=roles,
            department_ids=[departments[d].id for d in staff_departments],
            campus_ids=[],
            phone=people[name].phone if name in people else None,
            name=name,
            staff_number=number,
            professional_title=staff_title,
            post=staff_post,
        )
        _ready_to_sign_in(created.staff)


async def _patients(session: AsyncSession) -> None:
    people = registry()
    documents = {d: consents.current_version(d) for d in ("user_agreement", "privacy_policy", "health_data")}
    for holder_name, family in ACCOUNTS:
        holder = people[holder_name]
        account = Account(
            phone=holder.phone,
            phone_index=blind_index(holder.phone, kind="phone"),
            password_hash=hash_password(PASSWORD),
        )
        session.add(account)
        await session.flush()
        await consents.record(session, account.id, documents, client_address=None)
        caller = Caller(kind="patient", id=account.id, label=holder.phone[:3] + "****" + holder.phone[-4:])
        await patients.verify_real_name(
            session, caller, name=holder.name, id_number=holder.id_number, phone=None
        )
        for name, relation in family:
            member = people[name]
            await patients.add_patient(
                session,
                caller,
                name=member.name,
                id_number=member.id_number,
                phone=member.phone,
                relation=relation,
                guardian_consent=True,
            )


# Who may request, approve (up to a limit, in fen) and execute refunds (FI-01).
REFUND_AUTHORITIES = {
    "sunyue": (True, True, 100_000, True),
    "zhuhao": (True, True, 50_000, False),
    "qinlei": (True, True, None, True),
}
# Clinic bills the sandbox HIS holds for demo patients, as doctors' orders would have created them.
CLINIC_BILLS = [
    ("张伟", "心血管内科", "李建华", [("JC0101", "心电图", 1, 3_500), ("JY0201", "血脂四项", 1, 8_000)]),
    ("王芳", "呼吸内科", "王丽", [("JC0301", "胸部X线摄影", 1, 9_000)]),
]


async def _finance(session: AsyncSession, caller: Caller) -> None:
    from ihos.billing.config import set_refund_authority

    for username, (request, approve, limit, execute) in REFUND_AUTHORITIES.items():
        staff = await session.scalar(select(Staff).where(Staff.username == username))
        if staff is not None:
            await set_refund_authority(
                session,
                caller,
                staff.id,
                may_request=request,
                may_approve=approve,
                approval_limit_fen=limit,
                may_execute=execute,
            )


async def _clinic_bills(session: AsyncSession) -> None:
    from ihos.integrations.his import create_clinic_bill
    from ihos.integrations.his.base import ClinicBillLine

    people = registry()
    for name, department, doctor, lines in CLINIC_BILLS:
        await create_clinic_bill(
            session,
            people[name].id_number,
            [
                ClinicBillLine(code, item, quantity, price, quantity * price)
                for code, item, quantity, price in lines
            ],
            department,
            doctor,
        )


# The weekly clinics (排班计划): (doctor username or None for a department clinic, department, slot type,
# weekdays, periods, room, places). Every day has clinics, so that a visitor can book and queue any day.
CLINICS = [
    ("lijianhua", "MAIN:CARD", "expert", range(7), ("morning", "afternoon"), "A101", 20),
    ("fenglin", "MAIN:CARD", "general", range(5), ("morning", "afternoon"), "A102", 30),
    ("wangli", "MAIN:RESP", "expert", (0, 2, 4), ("morning",), "A201", 20),
    ("chenmei", "MAIN:RESP", "general", range(7), ("morning", "afternoon"), "A202", 30),
    ("zhangming", "MAIN:GAST", "general", range(5), ("morning",), "A301", 24),
    ("tangning", "MAIN:GAST", "expert", (1, 3), ("afternoon",), "A302", 16),
    ("sunhong", "MAIN:PED", "expert", range(6), ("morning",), "B101", 20),
    ("hanbing", "MAIN:PED", "general", range(7), ("morning", "afternoon"), "B102", 30),
    ("zhaogang", "MAIN:ORTH", "special_needs", (2,), ("afternoon",), "C101", 8),
    ("yangfan", "EAST:GP", "expert", range(5), ("morning",), "E101", 20),
    ("gaofeng", "EAST:GP", "general", range(7), ("morning", "afternoon"), "E102", 30),
    (None, "MAIN:ENDO", "disease_clinic", (1, 4), ("afternoon",), "A401", 16),
]
PERIODS = {"morning": (time(8), time(12)), "afternoon": (time(14), time(17, 30))}
SLOT_TYPE_NAMES = {"general": "普通门诊", "expert": "专家门诊", "special_needs": "特需门诊"}


def _kind_name(doctor: Staff | None, department: Department, slot_type: str) -> str:
    return f"{doctor.name}{SLOT_TYPE_NAMES[slot_type]}" if doctor else f"{department.name}糖尿病专病门诊"


async def _slot_pool(session: AsyncSession, caller: Caller) -> None:
    """The weekly clinics, and their sessions for the next two weeks (later days the daily sweep makes)."""
    from ihos.scheduling import service as scheduling

    departments = {
        f"{campus.code}:{department.code}": department
        for department, campus in (await session.execute(select(Department, Campus).join(Campus))).all()
    }
    doctors = {staff.username: staff for staff in (await session.scalars(select(Staff))).all()}
    for username, department_key, slot_type, weekdays, periods, room, places in CLINICS:
        department = departments[department_key]
        doctor = doctors[username] if username else None
        kind = await scheduling.create_registration_kind(
            session,
            caller,
            name=_kind_name(doctor, department, slot_type),
            slot_type_code=slot_type,
            department_id=department.id,
            doctor_id=doctor.id if doctor else None,
            disease=None if doctor else "糖尿病",
            fee_fen=None,
            is_online=False,
        )
        for weekday in weekdays:
            for period in periods:
                starts, ends = PERIODS[period]
                await scheduling.create_template(
                    session,
                    caller,
                    registration_kind_id=kind.id,
                    weekday=weekday,
                    period=period,
                    starts=starts,
                    ends=ends,
                    average_minutes=10,
                    capacity=places,
                    room=room,
                    quotas={"window": places // 5, "kiosk": places // 10},
                    valid_from=local_today(),
                    valid_until=None,
                )
    today = local_today()
    await scheduling.generate(
        session, caller, date_from=today, date_to=today + timedelta(days=13), template_ids=None, preview=False
    )


async def _queues_and_screens(session: AsyncSession, departments: dict[str, Department]) -> None:
    """Every clinic room's queue made ahead (as the outpatient office would, to bind its screen), and the
    demo's two screens: the door of A101 and the hall of 心血管内科."""
    from ihos.models.queueing import QueueScreen
    from ihos.models.scheduling import ClinicSession
    from ihos.queueing import screens
    from ihos.queueing.service import queue_for_session

    rooms: dict[str, Any] = {}
    for clinic in (await session.scalars(select(ClinicSession).order_by(ClinicSession.starts_at))).all():
        if clinic.room and clinic.room not in rooms:
            rooms[clinic.room] = await queue_for_session(session, clinic)
    cardiology = departments["MAIN:CARD"]
    for name, room, token in DEMO_SCREENS:
        session.add(
            QueueScreen(
                name=name,
                token_hash=screens.token_digest(token),
                campus_id=cardiology.campus_id,
                queue_id=rooms[room].id if room else None,
                department_id=None if room else cardiology.id,
            )
        )
    await session.flush()


def sign_ins() -> str:
    people = registry()
    lines = [
        "演示医院 ihos 示范医院 — 登录信息（所有账号密码均为 " + PASSWORD + "）",
        "",
        "工作台 /console/ ：",
    ]
    for username, (_role, name, _number, secret) in ADMIN_TOTP.items():
        lines.append(f"  {name:<8} 用户名 {username:<12} 动态码密钥 {secret}")
    lines += [
        "  医生     用户名 lijianhua（心血管内科）、wangli（呼吸内科）…",
        "  护士     用户名 chenxiaoyan    药师 liufang    客服 kefu1",
        "  财务     用户名 sunyue、zhuhao（可申请、审批退款）    财务主管 qinlei（财务设置）",
        "  门诊办   用户名 menzhen（号源、排班、预约管理、排队规则）",
        "",
        "患者端 /h5/ ：手机号 + 密码，例如",
    ]
    for holder_name, _family in ACCOUNTS[:3]:
        lines.append(f"  {holder_name} {people[holder_name].phone}")
    lines.append("  张伟、王芳各有一笔待缴费用（诊间支付），演示模式下可在演示收银台支付")
    lines.append("  可注册的演示人员：郭婷婷 13900000016、何志明 13900000017、林佳怡 13900000018")
    lines.append("  （演示模式下验证码见 /console/ 的短信沙箱）")
    lines += ["", "叫号屏（电视浏览器全屏打开，无需登录）："]
    for name, _room, token in DEMO_SCREENS:
        lines.append(f"  {name}  /console/screen?token={token}")
    lines.append("  叫号台：医生 lijianhua（A101）  分诊台：护士 liuyue（心血管内科）")
    return "\n".join(lines)
