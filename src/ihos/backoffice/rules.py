"""System rules (系统规则): typed settings with defaults and bounds that the system admin can change.

Every rule is defined here once; the database holds only overrides. The bounds keep the MLPS level 3
minimums out of reach (an administrator may make the lockout stricter, never weaker).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.errors import InvalidInput, NotFound
from ihos.models.system import SystemRule


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
    )
}


def definition(key: str) -> RuleDefinition:
    try:
        return RULES[key]
    except KeyError:
        raise UnknownRule() from None


async def get_rule(session: AsyncSession, key: str) -> int:
    rule = definition(key)
    override = await session.get(SystemRule, key)
    return rule.default if override is None else int(override.value)


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
    await audit.record(
        session,
        caller,
        "rule.update",
        target_kind="system_rules",
        target_id=key,
        details={"old": old, "new": checked},
    )
    return checked
