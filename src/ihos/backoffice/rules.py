"""System rules (系统规则): typed settings with defaults and bounds that the system admin can change.

Every rule is defined here once; the database holds only overrides. The bounds keep the MLPS level 3
minimums out of reach (an administrator may make the lockout stricter, never weaker).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.errors import InvalidInput, NotFound
from ihos.models.system import DepartmentRule, SystemRule


@dataclass(frozen=True)
class RuleDefinition:
    key: str
    label: str
    default: int
    minimum: int
    maximum: int
    unit: str
    description: str = ""

    def check(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRuleValue(f"{self.label}应为整数")
        if not self.minimum <= value <= self.maximum:
            raise InvalidRuleValue(f"{self.label}应在 {self.minimum}–{self.maximum} {self.unit}之间")
        return value


class InvalidRuleValue(InvalidInput):
    code = "invalid_rule_value"


class UnknownRule(NotFound):
    code = "unknown_rule"
    default_message = "没有这条系统规则"


RULES: dict[str, RuleDefinition] = {
    rule.key: rule
    for rule in (
        RuleDefinition(
            "order.hold_minutes", "订单保留时间", 15, 1, 120, "分钟", "未支付订单超过此时间自动关闭"
        ),
        RuleDefinition("sms.code_valid_minutes", "验证码有效期", 5, 1, 10, "分钟"),
        RuleDefinition("sms.resend_seconds", "验证码重发间隔", 60, 60, 600, "秒"),
        RuleDefinition("sms.max_wrong_attempts", "验证码最多错误次数", 5, 1, 5, "次"),
        RuleDefinition("sms.daily_cap_per_phone", "每个手机号每日验证码上限", 10, 1, 50, "条"),
        RuleDefinition("sms.daily_cap_per_address", "每个IP地址每日验证码上限", 50, 1, 1000, "条"),
        RuleDefinition("auth.lockout_threshold", "连续登录失败锁定次数", 5, 3, 5, "次"),
        RuleDefinition("auth.lockout_minutes", "账号锁定时长", 30, 30, 1440, "分钟"),
        RuleDefinition("auth.staff_idle_minutes", "工作人员空闲自动退出", 30, 5, 30, "分钟"),
        RuleDefinition("auth.staff_session_hours", "工作人员登录最长有效期", 12, 1, 24, "小时"),
        RuleDefinition("auth.patient_session_days", "患者登录有效期", 30, 1, 90, "天"),
        RuleDefinition(
            "auth.staff_password_max_age_days", "工作人员密码有效期", 90, 30, 180, "天", "到期后须修改密码"
        ),
        RuleDefinition("auth.sign_in_per_minute_per_address", "每个IP每分钟登录尝试上限", 20, 5, 600, "次"),
        RuleDefinition("patients.max_family_patients", "每个账户最多就诊人数", 5, 1, 20, "人"),
        # booking (SL-07); times of day are minutes after midnight, hospital time
        RuleDefinition(
            "schedule.generate_days_ahead",
            "自动生成出诊天数",
            14,
            0,
            60,
            "天",
            "每天按排班计划生成今后若干天的出诊（已有的不变）；0 为只手工生成",
        ),
        RuleDefinition("booking.days_ahead", "提前预约天数", 7, 1, 90, "天", "号源提前多少天放出"),
        RuleDefinition(
            "booking.release_minute", "每日放号时间", 480, 0, 1439, "分钟（自零点起）", "480 即 08:00"
        ),
        RuleDefinition("booking.same_day_start_minute", "当日挂号开始时间", 420, 0, 1439, "分钟（自零点起）"),
        RuleDefinition("booking.same_day_end_minute", "当日挂号截止时间", 1020, 0, 1439, "分钟（自零点起）"),
        RuleDefinition(
            "booking.cancel_deadline_hours",
            "退号截止（就诊前）",
            2,
            0,
            72,
            "小时",
            "此后取消不退费并计入黑名单",
        ),
        RuleDefinition("booking.daily_cap", "每人每日预约上限", 3, 1, 20, "个"),
        RuleDefinition(
            "booking.pool_return_hours",
            "渠道余号回收（就诊前）",
            24,
            0,
            240,
            "小时",
            "各渠道未用完的配额在此时退回公共号池",
        ),
        RuleDefinition("booking.cooling_min_seconds", "退号回池最短延迟", 60, 0, 3600, "秒"),
        RuleDefinition(
            "booking.cooling_max_seconds",
            "退号回池最长延迟",
            600,
            0,
            7200,
            "秒",
            "退号后随机延迟再放回号池，防止黄牛",
        ),
        RuleDefinition("booking.per_minute_per_account", "每个账户每分钟预约请求上限", 10, 1, 600, "次"),
        RuleDefinition("booking.per_minute_per_address", "每个IP每分钟预约请求上限", 60, 1, 100_000, "次"),
        RuleDefinition(
            "booking.reminder_minute", "就诊前一日提醒时间", 600, 0, 1439, "分钟（自零点起）", "600 即 10:00"
        ),
        RuleDefinition(
            "booking.settle_after_minutes",
            "场次结束后结算爽约",
            120,
            0,
            1440,
            "分钟",
            "留给 HIS 补报签到的时间，之后未签到的预约记为爽约",
        ),
        RuleDefinition(
            "booking.no_show_tracking",
            "记录爽约",
            1,
            0,
            1,
            "（1 开启，0 关闭）",
            "HIS 或分诊台不向本系统报到签到时须关闭，否则所有患者都会被记为爽约",
        ),
        RuleDefinition("blacklist.window_days", "爽约统计周期", 90, 7, 365, "天"),
        RuleDefinition("blacklist.cap", "爽约/违约次数上限", 3, 1, 20, "次"),
        RuleDefinition("blacklist.ban_days", "限制预约天数", 90, 1, 365, "天"),
        # the smart queue (QU-01, QU-04): hospital defaults, which departments and queues may override;
        # the two policies are numbered (see ihos.queueing.rules)
        RuleDefinition(
            "queue.checkin_open_minutes",
            "签到开放时间（就诊时段开始前）",
            60,
            0,
            240,
            "分钟",
            "早于此时间签到将被拒绝",
        ),
        RuleDefinition(
            "queue.grace_minutes",
            "迟到宽限（就诊时段开始后）",
            30,
            0,
            240,
            "分钟",
            "超过此时间签到的预约患者按迟到规则排队",
        ),
        RuleDefinition(
            "queue.late_policy",
            "迟到患者排队方式",
            2,
            1,
            3,
            "",
            "1 顺延若干位；2 排到当前时段末尾；3 排到本半天末尾",
        ),
        RuleDefinition(
            "queue.late_after", "迟到顺延位数", 3, 0, 50, "位", "迟到患者排在当时候诊的前若干位之后"
        ),
        RuleDefinition(
            "queue.priority_policy",
            "优先患者排队方式",
            1,
            0,
            2,
            "",
            "0 不优先；1 排在当时候诊的前若干位之后；2 排到本时段最前",
        ),
        RuleDefinition("queue.priority_after", "优先患者插入位置", 1, 0, 50, "位"),
        RuleDefinition(
            "queue.return_after",
            "检查后复诊插入位置",
            2,
            0,
            50,
            "位",
            "检查回来的患者排在当时候诊的前若干位之后",
        ),
        RuleDefinition("queue.miss_back", "过号顺延位数", 3, 0, 50, "位"),
        RuleDefinition("queue.max_misses", "过号几次移出队列", 2, 1, 10, "次", "移出后须到分诊台重新签到"),
        RuleDefinition(
            "queue.consult_minutes",
            "每位患者预计就诊时长",
            10,
            1,
            120,
            "分钟",
            "当日尚无就诊记录时用于估算候诊时间",
        ),
        RuleDefinition("queue.sms_on_call", "叫号时短信通知患者", 0, 0, 1, "", "0 不发送；1 发送"),
    )
}


def definition(key: str) -> RuleDefinition:
    try:
        return RULES[key]
    except KeyError:
        raise UnknownRule() from None


# Rules are read on every request of the busy paths (booking, sign-in) and change a few times a year:
# each process keeps what it read for a few seconds. A change made in this process is seen at once;
# other processes see it within CACHE_SECONDS.
CACHE_SECONDS = 5.0
_cache: dict[tuple[uuid.UUID | None, str], tuple[float, int | None]] = {}


def forget_cached_rules() -> None:
    _cache.clear()


def _cached(department_id: uuid.UUID | None, key: str) -> tuple[bool, int | None]:
    hit = _cache.get((department_id, key))
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1]
    return False, None


def _remember(department_id: uuid.UUID | None, key: str, value: int | None) -> None:
    _cache[(department_id, key)] = (time.monotonic() + CACHE_SECONDS, value)


async def get_rule(session: AsyncSession, key: str) -> int:
    rule = definition(key)
    found, value = _cached(None, key)
    if not found:
        override = await session.get(SystemRule, key)
        value = None if override is None else int(override.value)
        _remember(None, key, value)
    return rule.default if value is None else value


async def all_rules(session: AsyncSession) -> dict[str, int]:
    overrides = {row.key: row.value for row in (await session.scalars(select(SystemRule))).all()}
    return {key: int(overrides.get(key, rule.default)) for key, rule in RULES.items()}


async def set_rule(session: AsyncSession, caller: Caller, key: str, value: object) -> int:
    """Change a rule (validated against its bounds) and audit the old and new value."""
    rule = definition(key)
    checked = rule.check(value)
    old = await get_rule(session, key)
    override = await session.get(SystemRule, key)
    if override is None:
        session.add(SystemRule(key=key, value=checked, updated_by=caller.id))
    else:
        override.value = checked
        override.updated_by = caller.id
    await session.flush()
    forget_cached_rules()
    await audit.record(
        session,
        caller,
        "rule.update",
        target_kind="system_rules",
        target_id=key,
        details={"old": old, "new": checked},
    )
    return checked


async def get_department_rule(session: AsyncSession, key: str, department_id: uuid.UUID | None) -> int:
    """The rule for a department: its override when it has one, else the hospital's value."""
    if department_id is not None:
        found, value = _cached(department_id, key)
        if not found:
            override = await session.get(DepartmentRule, (department_id, key))
            value = None if override is None else override.value
            _remember(department_id, key, value)
        if value is not None:
            return value
    return await get_rule(session, key)


async def set_department_rule(
    session: AsyncSession, caller: Caller, key: str, department_id: uuid.UUID, value: int | None
) -> int | None:
    """Override a rule for one department, or (``value`` None) go back to the hospital's value."""
    rule = definition(key)
    override = await session.get(DepartmentRule, (department_id, key))
    if value is None:
        if override is not None:
            await session.delete(override)
    else:
        checked = rule.check(value)
        if override is None:
            session.add(
                DepartmentRule(department_id=department_id, key=key, value=checked, updated_by=caller.id)
            )
        else:
            override.value, override.updated_by = checked, caller.id
    await session.flush()
    forget_cached_rules()
    await audit.record(
        session,
        caller,
        "rule.department_update",
        target_kind="department_rules",
        target_id=f"{department_id}:{key}",
        details={"new": value},
    )
    return value
