"""Finance configuration (finance supervisor): enabled channels, the refund approval chain, and who may
request, approve and execute refunds. Every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.auth.permissions import ADMIN_ROLES
from ihos.billing.channels import NAMES, ChannelNotAvailable
from ihos.errors import Conflict, InvalidInput, NotFound
from ihos.models.billing import PaymentChannelSetting, RefundApprovalLevel, RefundAuthority
from ihos.models.organization import Role, Staff, StaffRole


class InvalidApprovalChain(InvalidInput):
    code = "invalid_approval_chain"
    default_message = "审批链不正确：级别须从1开始连续，金额门槛不能递减，角色须存在且不是管理员角色"


class RefundAuthorityNotAllowed(Conflict):
    code = "refund_authority_not_allowed"
    default_message = "系统管理员、安全管理员、审计管理员不办理退款业务（三员分立），不能授予退款权限"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    default_message = "工作人员不存在"


async def set_channel(
    session: AsyncSession,
    caller: Caller,
    channel: str,
    *,
    is_enabled: bool,
    display_name: str | None,
    sort_order: int | None,
) -> PaymentChannelSetting:
    if channel not in NAMES:
        raise ChannelNotAvailable("没有这种支付方式")
    setting = await session.get(PaymentChannelSetting, channel)
    if setting is None:
        setting = PaymentChannelSetting(channel=channel, display_name=NAMES[channel])
        session.add(setting)
    setting.is_enabled = is_enabled
    if display_name:
        setting.display_name = display_name
    if sort_order is not None:
        setting.sort_order = sort_order
    await session.flush()
    await audit.record(
        session,
        caller,
        "payment_channel.update",
        target_kind="payment_channels",
        target_id=channel,
        details={"is_enabled": is_enabled},
    )
    return setting


async def all_channels(session: AsyncSession) -> Sequence[PaymentChannelSetting]:
    return (
        await session.scalars(select(PaymentChannelSetting).order_by(PaymentChannelSetting.sort_order))
    ).all()


@dataclass(frozen=True)
class LevelIn:
    level: int
    min_amount_fen: int
    role_code: str


async def approval_chain(session: AsyncSession) -> Sequence[tuple[RefundApprovalLevel, str]]:
    """The levels in order, each with the name of the role that approves it (财务主管…)."""
    rows = await session.execute(
        select(RefundApprovalLevel, Role.name)
        .join(Role, Role.code == RefundApprovalLevel.role_code)
        .order_by(RefundApprovalLevel.level)
    )
    return [(level, name) for level, name in rows.tuples().all()]


async def replace_approval_chain(session: AsyncSession, caller: Caller, levels: Sequence[LevelIn]) -> None:
    ordered = sorted(levels, key=lambda item: item.level)
    if not ordered:
        # No chain at all would let every refund skip approval (the tender asks for 多级审批); a hospital
        # that wants small refunds to skip it sets its first level's minimum above them.
        raise InvalidApprovalChain("审批链至少需要一级")
    if [item.level for item in ordered] != list(range(1, len(ordered) + 1)):
        raise InvalidApprovalChain()
    if any(later.min_amount_fen < earlier.min_amount_fen for earlier, later in pairwise(ordered)):
        raise InvalidApprovalChain()
    # Approving refunds is business: the three administrators' roles never take a level (三员分立).
    roles = {code for code in (await session.scalars(select(Role.code))).all()} - ADMIN_ROLES
    if any(item.role_code not in roles or item.min_amount_fen < 0 for item in ordered):
        raise InvalidApprovalChain()
    await session.execute(delete(RefundApprovalLevel))
    for item in ordered:
        session.add(
            RefundApprovalLevel(
                level=item.level, min_amount_fen=item.min_amount_fen, role_code=item.role_code
            )
        )
    await session.flush()
    await audit.record(
        session,
        caller,
        "refund_chain.update",
        target_kind="refund_approval_levels",
        details={"levels": [[i.level, i.min_amount_fen, i.role_code] for i in ordered]},
    )


async def refund_authorities(session: AsyncSession) -> Sequence[tuple[RefundAuthority, Staff]]:
    rows = await session.execute(
        select(RefundAuthority, Staff)
        .join(Staff, Staff.id == RefundAuthority.staff_id)
        .order_by(Staff.staff_number)
    )
    return [(grant, staff) for grant, staff in rows.all()]


async def my_refund_authority(session: AsyncSession, caller: Caller) -> tuple[RefundAuthority, Staff]:
    """The signed-in member of staff's refund authority; nothing allowed when none was granted."""
    staff = await session.get(Staff, caller.subject_id) if caller.is_staff else None
    if staff is None:
        raise StaffNotFound()
    grant = await session.get(RefundAuthority, staff.id)
    return grant or RefundAuthority(
        staff_id=staff.id, may_request=False, may_approve=False, approval_limit_fen=None, may_execute=False
    ), staff


async def set_refund_authority(
    session: AsyncSession,
    caller: Caller,
    staff_id: uuid.UUID,
    *,
    may_request: bool,
    may_approve: bool,
    approval_limit_fen: int | None,
    may_execute: bool,
) -> RefundAuthority:
    if await session.get(Staff, staff_id) is None:
        raise StaffNotFound()
    if await session.scalar(
        select(StaffRole.role_code).where(
            StaffRole.staff_id == staff_id, StaffRole.role_code.in_(ADMIN_ROLES)
        )
    ):
        raise RefundAuthorityNotAllowed()
    grant = await session.get(RefundAuthority, staff_id)
    if grant is None:
        grant = RefundAuthority(staff_id=staff_id)
        session.add(grant)
    grant.may_request, grant.may_approve, grant.may_execute = may_request, may_approve, may_execute
    grant.approval_limit_fen = approval_limit_fen
    await session.flush()
    await audit.record(
        session,
        caller,
        "refund_authority.update",
        target_kind="staff",
        target_id=staff_id,
        details={
            "request": may_request,
            "approve": may_approve,
            "limit_fen": approval_limit_fen,
            "execute": may_execute,
        },
    )
    return grant
