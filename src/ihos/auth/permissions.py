"""Roles and permissions, with the separation of duties MLPS level 3 asks for (三员分立).

The three administrators hold disjoint permission sets, and nobody may hold more than one of them:
- the **system admin** keeps the system running: dictionaries, rules, background work, system clients;
- the **security admin** decides who exists and what they may do: organisation, staff accounts, roles,
  sessions; (organisation sits here because department and campus membership scope data access);
- the **audit admin** reads and verifies the operation log and nothing else.

Business roles (doctor, nurse, pharmacist, …) never hold administrator permissions; custom roles made
in the back office may combine business permissions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    # organisation and people (security admin)
    ORGANISATION_READ = "organisation.read"
    ORGANISATION_MANAGE = "organisation.manage"
    STAFF_MANAGE = "staff.manage"
    ROLE_MANAGE = "role.manage"
    SESSION_MANAGE = "session.manage"
    # system (system admin)
    DICTIONARY_MANAGE = "dictionary.manage"
    RULE_MANAGE = "rule.manage"
    JOB_MANAGE = "job.manage"
    SYSTEM_CLIENT_MANAGE = "system_client.manage"
    # audit (audit admin)
    AUDIT_READ = "audit.read"
    # patients (business)
    PATIENT_READ = "patient.read"
    PATIENT_UNMASK = "patient.unmask"
    PATIENT_PASSWORD_RESET = "patient.password_reset"
    IDENTITY_REVIEW = "identity.review"
    # finance (business); who may request, approve and execute refunds is granted per staff member
    FINANCE_READ = "finance.read"
    FINANCE_CONFIGURE = "finance.configure"
    ANOMALY_HANDLE = "anomaly.handle"
    # slot pool (business): the outpatient office configures it; booking records are read more widely
    SCHEDULE_MANAGE = "schedule.manage"
    BOOKING_READ = "booking.read"
    BOOKING_MANAGE = "booking.manage"  # cancel or release a patient's booking for them
    BLACKLIST_MANAGE = "blacklist.manage"  # see and lift booking bans
    BOOKING_LINK = "booking.link"  # a doctor's link for a patient's follow-up booking
    # smart queue (business): doctors call, nurses check in, the outpatient office sets queues and rules
    QUEUE_READ = "queue.read"
    QUEUE_CHECKIN = "queue.checkin"
    QUEUE_CALL = "queue.call"
    QUEUE_MANAGE = "queue.manage"
    # queue screens (system admin): the TVs' tokens, like the kiosks' keys
    QUEUE_SCREEN_MANAGE = "queue_screen.manage"


PERMISSION_NAMES = {
    Permission.ORGANISATION_READ: "查看组织机构",
    Permission.ORGANISATION_MANAGE: "管理组织机构",
    Permission.STAFF_MANAGE: "管理工作人员账号",
    Permission.ROLE_MANAGE: "管理角色",
    Permission.SESSION_MANAGE: "强制下线",
    Permission.DICTIONARY_MANAGE: "管理字典",
    Permission.RULE_MANAGE: "管理系统规则",
    Permission.JOB_MANAGE: "处理后台任务失败",
    Permission.SYSTEM_CLIENT_MANAGE: "管理对接系统",
    Permission.AUDIT_READ: "查看操作日志",
    Permission.PATIENT_READ: "查看患者",
    Permission.PATIENT_UNMASK: "查看患者完整信息",
    Permission.PATIENT_PASSWORD_RESET: "重置患者密码",
    Permission.IDENTITY_REVIEW: "实名人工审核",
    Permission.FINANCE_READ: "查看订单与退款",
    Permission.FINANCE_CONFIGURE: "财务设置",
    Permission.ANOMALY_HANDLE: "处理异常订单",
    Permission.SCHEDULE_MANAGE: "管理号源与排班",
    Permission.BOOKING_READ: "查看预约挂号记录与号源状态",
    Permission.BOOKING_MANAGE: "代患者退号、释放锁号",
    Permission.BLACKLIST_MANAGE: "管理预约黑名单",
    Permission.BOOKING_LINK: "开具复诊预约链接",
    Permission.QUEUE_READ: "查看候诊队列与叫号记录",
    Permission.QUEUE_CHECKIN: "患者签到（分诊台）",
    Permission.QUEUE_CALL: "叫号与接诊",
    Permission.QUEUE_MANAGE: "管理候诊队列、排队规则与叫号屏",
    Permission.QUEUE_SCREEN_MANAGE: "管理叫号屏",
}

SYSTEM_ADMIN_PERMISSIONS = frozenset(
    {
        Permission.ORGANISATION_READ,
        Permission.DICTIONARY_MANAGE,
        Permission.RULE_MANAGE,
        Permission.JOB_MANAGE,
        Permission.SYSTEM_CLIENT_MANAGE,
        Permission.QUEUE_SCREEN_MANAGE,
    }
)
SECURITY_ADMIN_PERMISSIONS = frozenset(
    {
        Permission.ORGANISATION_READ,
        Permission.ORGANISATION_MANAGE,
        Permission.STAFF_MANAGE,
        Permission.ROLE_MANAGE,
        Permission.SESSION_MANAGE,
    }
)
AUDIT_ADMIN_PERMISSIONS = frozenset({Permission.AUDIT_READ})

# Permissions only the three administrator roles may hold (reading the organisation is shared).
ADMIN_ONLY_PERMISSIONS = (SYSTEM_ADMIN_PERMISSIONS | SECURITY_ADMIN_PERMISSIONS | AUDIT_ADMIN_PERMISSIONS) - {
    Permission.ORGANISATION_READ
}
BUSINESS_PERMISSIONS = frozenset(Permission) - ADMIN_ONLY_PERMISSIONS


@dataclass(frozen=True)
class RoleDefinition:
    code: str
    name: str
    permissions: frozenset[Permission]
    # Campus-scoped roles see only the data of the campuses the staff member works at (DR-02).
    is_campus_scoped: bool
    is_admin: bool = False

    @property
    def needs_second_factor(self) -> bool:
        return self.is_admin


SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"
ADMIN_ROLES = frozenset({SYSTEM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})

_CLINICAL = frozenset({Permission.ORGANISATION_READ, Permission.PATIENT_READ})

BUILTIN_ROLES: dict[str, RoleDefinition] = {
    role.code: role
    for role in (
        RoleDefinition(
            "doctor",
            "医生",
            _CLINICAL | {Permission.QUEUE_READ, Permission.QUEUE_CALL, Permission.BOOKING_LINK},
            is_campus_scoped=True,
        ),
        RoleDefinition(
            "nurse",
            "护士",
            # Triage nurses (分诊护士) check patients in and call them from the triage desk.
            _CLINICAL | {Permission.QUEUE_READ, Permission.QUEUE_CHECKIN, Permission.QUEUE_CALL},
            is_campus_scoped=True,
        ),
        RoleDefinition("pharmacist", "药师", _CLINICAL, is_campus_scoped=True),
        RoleDefinition(
            "finance",
            "财务",
            frozenset({Permission.ORGANISATION_READ, Permission.FINANCE_READ, Permission.ANOMALY_HANDLE}),
            is_campus_scoped=False,
        ),
        RoleDefinition(
            "finance_supervisor",
            "财务主管",
            frozenset(
                {
                    Permission.ORGANISATION_READ,
                    Permission.FINANCE_READ,
                    Permission.ANOMALY_HANDLE,
                    Permission.FINANCE_CONFIGURE,
                }
            ),
            is_campus_scoped=False,
        ),
        RoleDefinition(
            "customer_service",
            "客服",
            frozenset(
                {
                    Permission.ORGANISATION_READ,
                    Permission.PATIENT_READ,
                    Permission.PATIENT_UNMASK,
                    Permission.PATIENT_PASSWORD_RESET,
                    Permission.IDENTITY_REVIEW,
                    Permission.FINANCE_READ,
                    Permission.BOOKING_READ,
                    Permission.BOOKING_MANAGE,
                    Permission.BLACKLIST_MANAGE,
                }
            ),
            is_campus_scoped=False,
        ),
        RoleDefinition(
            "content_editor", "内容编辑", frozenset({Permission.ORGANISATION_READ}), is_campus_scoped=False
        ),
        RoleDefinition(
            "outpatient_office",
            "门诊办",
            frozenset(
                {
                    Permission.ORGANISATION_READ,
                    Permission.PATIENT_READ,
                    Permission.SCHEDULE_MANAGE,
                    Permission.BOOKING_READ,
                    Permission.BOOKING_MANAGE,
                    Permission.BLACKLIST_MANAGE,
                    Permission.QUEUE_READ,
                    Permission.QUEUE_CHECKIN,
                    Permission.QUEUE_MANAGE,
                }
            ),
            is_campus_scoped=False,
        ),
        RoleDefinition(
            "insurance_office",
            "医保办",
            frozenset({Permission.ORGANISATION_READ, Permission.PATIENT_READ}),
            is_campus_scoped=False,
        ),
        RoleDefinition(
            SYSTEM_ADMIN, "系统管理员", SYSTEM_ADMIN_PERMISSIONS, is_campus_scoped=False, is_admin=True
        ),
        RoleDefinition(
            SECURITY_ADMIN, "安全管理员", SECURITY_ADMIN_PERMISSIONS, is_campus_scoped=False, is_admin=True
        ),
        RoleDefinition(
            AUDIT_ADMIN, "审计管理员", AUDIT_ADMIN_PERMISSIONS, is_campus_scoped=False, is_admin=True
        ),
    )
}


def separation_of_duties_problem(role_codes: set[str]) -> str | None:
    """Why this combination of roles may not be held by one person, or None when it may."""
    admin_roles = role_codes & ADMIN_ROLES
    if len(admin_roles) > 1:
        return "系统管理员、安全管理员、审计管理员必须由不同的人担任"
    if admin_roles and role_codes - ADMIN_ROLES:
        return "管理员账号不能同时担任业务角色"
    return None
