"""Registration, sign-in and passwords for patients and staff (PT-02, PT-03, PT-04, DR-03, AD-08).

MLPS level 3: passwords of ≥ 8 characters in 3 classes; 5 failed sign-ins lock an account for 30
minutes (rules ``auth.lockout_*``); administrators sign in with a TOTP second factor; every sign-in,
failure and password change is audited.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pyotp
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth import consents, repository, sessions, sms
from ihos.auth.caller import Caller
from ihos.auth.permissions import BUILTIN_ROLES
from ihos.backoffice.rules import get_rule
from ihos.db import insert_unique
from ihos.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Recorder,
    ServiceUnavailable,
    Unauthenticated,
)
from ihos.integrations.alipay import AlipayLoginError, get_alipay_login
from ihos.integrations.wechat import WeChatLoginError, get_wechat_login
from ihos.kit.time import local_now, now
from ihos.models.accounts import Account, ExternalLogin
from ihos.models.organization import Staff
from ihos.security.fields import blind_index
from ihos.security.masking import mask_phone
from ihos.security.passwords import hash_password, password_problems, verify_password

USERNAME = re.compile(r"^[a-z][a-z0-9_]{3,31}$")
TOTP_ISSUER = "ihos互联网医院"


class SignInFailed(Unauthenticated):
    code = "sign_in_failed"
    default_message = "账号或密码不正确"


class AccountLocked(Forbidden):
    code = "account_locked"
    default_message = "登录失败次数过多，账号已锁定，请稍后再试"


class AccountDisabled(Forbidden):
    code = "account_disabled"
    default_message = "账号已停用，请联系医院"


class WeakPassword(InvalidInput):
    code = "weak_password"
    default_message = "密码强度不足"


class WrongPassword(InvalidInput):
    code = "wrong_password"
    default_message = "当前密码不正确"


class InvalidUsername(InvalidInput):
    code = "invalid_username"
    default_message = "用户名须为4–32位小写字母、数字或下划线，以字母开头"


class UsernameTaken(Conflict):
    code = "username_taken"
    default_message = "该用户名已被注册"


class PhoneAlreadyRegistered(Conflict):
    code = "phone_already_registered"
    default_message = "该手机号已注册，请直接登录"


class PhoneNotRegistered(InvalidInput):
    code = "phone_not_registered"
    default_message = "该手机号尚未注册"


class SecondFactorRequired(Unauthenticated):
    code = "totp_required"
    default_message = "请输入身份验证器中的6位动态码"


class SecondFactorInvalid(Unauthenticated):
    code = "totp_invalid"
    default_message = "动态码不正确"


class AuthorisationUnavailable(ServiceUnavailable):
    code = "authorisation_unavailable"
    default_message = "授权登录暂时不可用，请稍后再试或使用手机号登录"


class AuthorisationInvalid(Unauthenticated):
    code = "authorisation_invalid"
    default_message = "授权已失效，请重新授权登录"


# ---------------------------------------------------------------------------------------------
# passwords and lockout, shared by patient accounts and staff


class _Principal(Protocol):
    id: uuid.UUID
    failed_sign_ins: int
    locked_until: datetime | None
    is_active: bool


def check_password_strength(password: str, *, username: str | None = None) -> None:
    problems = password_problems(password, username=username)
    if problems:
        raise WeakPassword("；".join(problems))


def _check_may_sign_in(principal: _Principal) -> None:
    if not principal.is_active:
        raise AccountDisabled()
    if principal.locked_until is not None and principal.locked_until > now():
        until = principal.locked_until.astimezone(local_now().tzinfo).strftime("%H:%M")
        raise AccountLocked(f"登录失败次数过多，账号已锁定，请于 {until} 后再试")


def _count_failure(
    model: type[Account] | type[Staff], principal_id: uuid.UUID, caller: Caller, action: str, reason: str
) -> Recorder:
    """After the request rolls back: count the failure, lock at the threshold, audit."""

    async def record(session: AsyncSession) -> None:
        threshold = await get_rule(session, "auth.lockout_threshold")
        minutes = await get_rule(session, "auth.lockout_minutes")
        await session.execute(
            update(model)
            .where(model.id == principal_id)
            .values(failed_sign_ins=model.failed_sign_ins + 1)
            .execution_options(synchronize_session=False)
        )
        locked = await session.execute(
            update(model)
            .where(model.id == principal_id, model.failed_sign_ins >= threshold)
            .values(failed_sign_ins=0, locked_until=now() + timedelta(minutes=minutes))
            .execution_options(synchronize_session=False)
        )
        details = {"reason": reason, "locked": bool(locked.rowcount)}  # type: ignore[attr-defined]
        await audit.record(
            session,
            caller,
            action,
            target_kind=model.__tablename__,
            target_id=principal_id,
            result="failure",
            details=details,
        )

    return record


async def _remaining_tries(session: AsyncSession, principal: _Principal) -> int:
    return await get_rule(session, "auth.lockout_threshold") - principal.failed_sign_ins - 1


def _signed_in(principal: Account | Staff) -> None:
    principal.failed_sign_ins = 0
    principal.locked_until = None
    principal.last_sign_in_at = now()


# ---------------------------------------------------------------------------------------------
# patient registration


@dataclass(frozen=True)
class PatientSignIn:
    account: Account
    issued: sessions.IssuedSession
    is_new_account: bool = False


def _account_label(account: Account) -> str:
    if account.phone:
        return mask_phone(account.phone) or "患者"
    return account.username or "患者"


def _patient_caller(account: Account, base: Caller) -> Caller:
    return Caller(
        kind="patient", id=account.id, label=_account_label(account), client_address=base.client_address
    )


async def _open_patient_session(
    session: AsyncSession,
    caller: Caller,
    account: Account,
    *,
    method: str,
    user_agent: str | None,
    is_new: bool,
) -> PatientSignIn:
    _signed_in(account)
    issued = await sessions.start(
        session,
        account_id=account.id,
        method=method,
        client_address=caller.client_address,
        user_agent=user_agent,
    )
    action = "account.register" if is_new else "auth.sign_in"
    await audit.record(
        session,
        _patient_caller(account, caller),
        action,
        target_kind="accounts",
        target_id=account.id,
        details={"method": method},
    )
    return PatientSignIn(account, issued, is_new)


async def _create_account(
    session: AsyncSession,
    caller: Caller,
    *,
    consents_given: dict[str, str | None],
    username: str | None = None,
    phone: str | None = None,
    password: str | None = None,
) -> Account:
    accepted = consents.check_registration_consents(consents_given)
    account = Account(
        username=username,
        phone=phone,
        phone_index=blind_index(phone, kind="phone") if phone else None,
        password_hash=hash_password(password) if password else None,
    )
    if not await insert_unique(session, account):
        # Two registrations racing for the same username or phone: the unique constraint decides.
        raise UsernameTaken() if username else PhoneAlreadyRegistered()
    await consents.record(session, account.id, accepted, client_address=caller.client_address)
    return account


async def register_with_username(
    session: AsyncSession,
    caller: Caller,
    *,
    username: str,
    password: str,
    consents_given: dict[str, str | None],
    user_agent: str | None = None,
) -> PatientSignIn:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidUsername()
    check_password_strength(password, username=username)
    if await repository.account_by_username(session, username) is not None:
        raise UsernameTaken()
    account = await _create_account(
        session, caller, consents_given=consents_given, username=username, password=password
    )
    return await _open_patient_session(
        session, caller, account, method="password", user_agent=user_agent, is_new=True
    )


async def register_with_phone(
    session: AsyncSession,
    caller: Caller,
    *,
    phone: str,
    code: str,
    password: str | None,
    consents_given: dict[str, str | None],
    user_agent: str | None = None,
) -> PatientSignIn:
    """Phone + SMS code, optionally with a password (phone + password registration)."""
    phone = sms.phone_or_error(phone)
    if password is not None:
        check_password_strength(password)
    if await repository.account_by_phone(session, phone) is not None:
        raise PhoneAlreadyRegistered()
    consents.check_registration_consents(consents_given)
    await sms.consume_code(session, phone=phone, purpose="register", code=code)
    account = await _create_account(
        session, caller, consents_given=consents_given, phone=phone, password=password
    )
    method = "phone_password" if password else "sms_code"
    return await _open_patient_session(
        session, caller, account, method=method, user_agent=user_agent, is_new=True
    )


# ---------------------------------------------------------------------------------------------
# patient sign-in


async def sign_in_with_password(
    session: AsyncSession, caller: Caller, *, login: str, password: str, user_agent: str | None = None
) -> PatientSignIn:
    """``login`` is a phone number or a username."""
    login = login.strip()
    try:
        account = await repository.account_by_phone(session, sms.phone_or_error(login))
    except sms.InvalidPhoneNumber:
        account = await repository.account_by_username(session, login)
    if account is None:
        raise SignInFailed(record=audit.failed(caller, "auth.sign_in", details={"reason": "unknown_account"}))
    _check_may_sign_in(account)
    if account.password_hash is None or not verify_password(account.password_hash, password):
        left = await _remaining_tries(session, account)
        message = (
            f"账号或密码不正确，还可尝试 {left} 次" if left > 0 else "账号或密码不正确，账号已锁定30分钟"
        )
        raise SignInFailed(
            message, record=_count_failure(Account, account.id, caller, "auth.sign_in", "password")
        )
    return await _open_patient_session(
        session, caller, account, method="password", user_agent=user_agent, is_new=False
    )


async def sign_in_with_sms(
    session: AsyncSession, caller: Caller, *, phone: str, code: str, user_agent: str | None = None
) -> PatientSignIn:
    phone = sms.phone_or_error(phone)
    account = await repository.account_by_phone(session, phone)
    if account is None:
        raise PhoneNotRegistered()
    _check_may_sign_in(account)
    await sms.consume_code(session, phone=phone, purpose="sign_in", code=code)
    return await _open_patient_session(
        session, caller, account, method="sms_code", user_agent=user_agent, is_new=False
    )


async def _sign_in_external(
    session: AsyncSession,
    caller: Caller,
    *,
    provider: str,
    subject: str,
    union_id: str | None,
    consents_given: dict[str, str | None] | None,
    user_agent: str | None,
) -> PatientSignIn:
    account = await repository.account_by_external_login(session, provider, subject)
    if account is not None:
        _check_may_sign_in(account)
        return await _open_patient_session(
            session, caller, account, method=provider, user_agent=user_agent, is_new=False
        )
    # First authorised sign-in creates the account: no registration form, but the consents still apply.
    account = await _create_account(session, caller, consents_given=consents_given or {})
    session.add(ExternalLogin(account_id=account.id, provider=provider, subject=subject, union_id=union_id))
    await session.flush()
    return await _open_patient_session(
        session, caller, account, method=provider, user_agent=user_agent, is_new=True
    )


async def sign_in_with_wechat(
    session: AsyncSession,
    caller: Caller,
    *,
    code: str,
    consents_given: dict[str, str | None] | None,
    user_agent: str | None = None,
) -> PatientSignIn:
    try:
        wechat = await get_wechat_login(session).code2session(code)
    except WeChatLoginError as exc:
        if exc.retryable:
            raise AuthorisationUnavailable() from exc
        raise AuthorisationInvalid() from exc
    return await _sign_in_external(
        session,
        caller,
        provider="wechat",
        subject=wechat.openid,
        union_id=wechat.unionid,
        consents_given=consents_given,
        user_agent=user_agent,
    )


async def sign_in_with_alipay(
    session: AsyncSession,
    caller: Caller,
    *,
    auth_code: str,
    consents_given: dict[str, str | None] | None,
    user_agent: str | None = None,
) -> PatientSignIn:
    try:
        user = await get_alipay_login(session).exchange_auth_code(auth_code)
    except AlipayLoginError as exc:
        if exc.retryable:
            raise AuthorisationUnavailable() from exc
        raise AuthorisationInvalid() from exc
    return await _sign_in_external(
        session,
        caller,
        provider="alipay",
        subject=user.user_id,
        union_id=user.open_id,
        consents_given=consents_given,
        user_agent=user_agent,
    )


async def reset_password_with_sms(
    session: AsyncSession, caller: Caller, *, phone: str, code: str, new_password: str
) -> Account:
    """Forgotten password (PT-04): prove the phone with a code, set a new password, end every session."""
    phone = sms.phone_or_error(phone)
    check_password_strength(new_password)
    account = await repository.account_by_phone(session, phone)
    if account is None:
        raise PhoneNotRegistered()
    await sms.consume_code(session, phone=phone, purpose="reset_password", code=code)
    await _set_password(session, account, new_password)
    account.failed_sign_ins = 0
    account.locked_until = None
    await sessions.revoke_all(session, account_id=account.id, reason="password_reset")
    await audit.record(
        session,
        _patient_caller(account, caller),
        "account.password_reset",
        target_kind="accounts",
        target_id=account.id,
        details={"method": "sms_code"},
    )
    return account


async def _set_password(session: AsyncSession, principal: Account | Staff, new_password: str) -> None:
    if principal.password_hash and verify_password(principal.password_hash, new_password):
        raise WeakPassword("新密码不能与当前密码相同")
    principal.password_hash = hash_password(new_password)
    principal.must_change_password = False
    if isinstance(principal, Staff):
        principal.password_changed_at = now()
    await session.flush()


async def change_own_password(
    session: AsyncSession, caller: Caller, *, current_password: str | None, new_password: str
) -> None:
    """Everyone can change their own password; other sessions of the same person end."""
    principal: Account | Staff | None = await session.get(
        Staff if caller.is_staff else Account, caller.subject_id
    )
    if principal is None:
        raise Unauthenticated()
    username = principal.username
    if principal.password_hash is not None and (
        current_password is None or not verify_password(principal.password_hash, current_password)
    ):
        model = Staff if isinstance(principal, Staff) else Account
        raise WrongPassword(
            record=_count_failure(model, principal.id, caller, "auth.password_change", "password")
        )
    check_password_strength(new_password, username=username)
    await _set_password(session, principal, new_password)
    if isinstance(principal, Staff):
        await sessions.revoke_all(
            session, staff_id=principal.id, reason="password_changed", except_session_id=caller.session_id
        )
    else:
        await sessions.revoke_all(
            session, account_id=principal.id, reason="password_changed", except_session_id=caller.session_id
        )
    await audit.record(
        session,
        caller,
        "auth.password_change",
        target_kind=type(principal).__tablename__,
        target_id=principal.id,
    )


# ---------------------------------------------------------------------------------------------
# staff sign-in


@dataclass(frozen=True)
class StaffSignIn:
    staff: Staff
    issued: sessions.IssuedSession | None
    # Set when an administrator has not enrolled a TOTP authenticator yet: show this to enrol.
    totp_enrolment_uri: str | None = None
    totp_enrolment_secret: str | None = None


def needs_second_factor(staff: Staff) -> bool:
    return any(
        BUILTIN_ROLES[role.code].needs_second_factor for role in staff.roles if role.code in BUILTIN_ROLES
    )


def _staff_label(staff: Staff) -> str:
    return f"{staff.name}({staff.staff_number})"


def _totp_step_if_valid(secret: str, code: str, *, last_step: int | None) -> int | None:
    """The 30-second step ``code`` belongs to (±1 step of clock drift), unless already used."""
    totp = pyotp.TOTP(secret)
    current = int(now().timestamp()) // totp.interval
    for step in (current, current - 1, current + 1):
        if totp.generate_otp(step) == code.strip() and (last_step is None or step > last_step):
            return step
    return None


async def sign_in_staff(
    session: AsyncSession,
    caller: Caller,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    user_agent: str | None = None,
) -> StaffSignIn:
    staff = await repository.staff_by_username(session, username.strip())
    if staff is None:
        raise SignInFailed(
            "用户名或密码不正确",
            record=audit.failed(caller, "auth.staff_sign_in", details={"reason": "unknown_user"}),
        )
    _check_may_sign_in(staff)
    if not verify_password(staff.password_hash, password):
        left = await _remaining_tries(session, staff)
        message = (
            f"用户名或密码不正确，还可尝试 {left} 次" if left > 0 else "用户名或密码不正确，账号已锁定30分钟"
        )
        raise SignInFailed(
            message, record=_count_failure(Staff, staff.id, caller, "auth.staff_sign_in", "password")
        )
    if needs_second_factor(staff):
        if staff.totp_secret is None or staff.totp_enrolled_at is None:
            return _totp_enrolment(staff)
        if not totp_code:
            raise SecondFactorRequired()
        step = _totp_step_if_valid(staff.totp_secret, totp_code, last_step=staff.last_totp_step)
        if step is None:
            raise SecondFactorInvalid(
                record=_count_failure(Staff, staff.id, caller, "auth.staff_sign_in", "totp")
            )
        staff.last_totp_step = step
    return await _open_staff_session(session, caller, staff, user_agent=user_agent)


def _totp_enrolment(staff: Staff) -> StaffSignIn:
    if staff.totp_secret is None:
        staff.totp_secret = pyotp.random_base32()
    uri = pyotp.TOTP(staff.totp_secret).provisioning_uri(name=staff.username, issuer_name=TOTP_ISSUER)
    return StaffSignIn(staff, None, totp_enrolment_uri=uri, totp_enrolment_secret=staff.totp_secret)


async def enrol_totp(
    session: AsyncSession,
    caller: Caller,
    *,
    username: str,
    password: str,
    totp_code: str,
    user_agent: str | None = None,
) -> StaffSignIn:
    """Confirm the authenticator an administrator just set up, and sign in."""
    staff = await repository.staff_by_username(session, username.strip())
    if staff is None or not verify_password(staff.password_hash, password):
        record = (
            _count_failure(Staff, staff.id, caller, "auth.totp_enrol", "password")
            if staff
            else audit.failed(caller, "auth.totp_enrol", details={"reason": "unknown_user"})
        )
        raise SignInFailed("用户名或密码不正确", record=record)
    _check_may_sign_in(staff)
    if staff.totp_secret is None or staff.totp_enrolled_at is not None:
        raise Conflict("没有待绑定的身份验证器")
    step = _totp_step_if_valid(staff.totp_secret, totp_code, last_step=None)
    if step is None:
        raise SecondFactorInvalid(record=_count_failure(Staff, staff.id, caller, "auth.totp_enrol", "totp"))
    staff.totp_enrolled_at = now()
    staff.last_totp_step = step
    await audit.record(
        session, _staff_caller(staff, caller), "auth.totp_enrol", target_kind="staff", target_id=staff.id
    )
    return await _open_staff_session(session, caller, staff, user_agent=user_agent)


def _staff_caller(staff: Staff, base: Caller) -> Caller:
    return Caller(
        kind="staff",
        id=staff.id,
        label=_staff_label(staff),
        roles=frozenset(role.code for role in staff.roles),
        client_address=base.client_address,
    )


async def _open_staff_session(
    session: AsyncSession, caller: Caller, staff: Staff, *, user_agent: str | None
) -> StaffSignIn:
    _signed_in(staff)
    issued = await sessions.start(
        session,
        staff_id=staff.id,
        method="password",
        client_address=caller.client_address,
        user_agent=user_agent,
    )
    await audit.record(
        session, _staff_caller(staff, caller), "auth.staff_sign_in", target_kind="staff", target_id=staff.id
    )
    return StaffSignIn(staff, issued)


async def password_expired(session: AsyncSession, staff: Staff) -> bool:
    """Staff change passwords periodically (MLPS); a new or reset password must be changed at once."""
    if staff.must_change_password or staff.password_changed_at is None:
        return True
    max_age = timedelta(days=await get_rule(session, "auth.staff_password_max_age_days"))
    return now() - staff.password_changed_at > max_age


async def sign_out(session: AsyncSession, caller: Caller) -> None:
    if caller.session_id is None:
        raise Unauthenticated()
    await sessions.revoke(session, caller.session_id, reason="signed_out")
    await audit.record(
        session, caller, "auth.sign_out", target_kind="auth_sessions", target_id=caller.session_id
    )


async def send_sms_code(session: AsyncSession, caller: Caller, *, phone: str, purpose: str) -> sms.CodeSent:
    """A code for registration (refused for a phone already registered), sign-in or password reset."""
    phone = sms.phone_or_error(phone)
    if purpose == "register" and await repository.account_by_phone(session, phone) is not None:
        raise PhoneAlreadyRegistered()
    if purpose in ("bind_patient", "bind_phone") and not caller.is_patient:
        raise Unauthenticated()
    if purpose == "bind_phone" and await repository.account_by_phone(session, phone) is not None:
        raise PhoneAlreadyRegistered("该手机号已绑定其他账户")
    return await sms.request_code(session, phone=phone, purpose=purpose, client_address=caller.client_address)


async def own_sessions(session: AsyncSession, caller: Caller) -> list[sessions.AuthSession]:
    if caller.is_staff:
        return await sessions.live_sessions(session, staff_id=caller.id)
    return await sessions.live_sessions(session, account_id=caller.id)


async def revoke_own_session(session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> None:
    if session_id not in {s.id for s in await own_sessions(session, caller)}:
        raise NotFound("没有这个登录设备")
    await sessions.revoke(session, session_id, reason="revoked_by_owner")
    await audit.record(
        session, caller, "auth.session_revoke", target_kind="auth_sessions", target_id=session_id
    )


async def bind_phone(session: AsyncSession, caller: Caller, *, phone: str, code: str) -> Account:
    """Bind (or change) the account's phone, proven by a code sent to it: needed for SMS sign-in,
    password recovery and the identity review of accounts made by username, WeChat or Alipay."""
    phone = sms.phone_or_error(phone)
    account = await session.get_one(Account, caller.subject_id)
    other = await repository.account_by_phone(session, phone)
    if other is not None and other.id != account.id:
        raise PhoneAlreadyRegistered("该手机号已绑定其他账户")
    await sms.consume_code(session, phone=phone, purpose="bind_phone", code=code)
    had_phone = account.phone is not None
    try:
        # In a savepoint of its own: a phone bound elsewhere a moment ago is refused by the unique index.
        async with session.begin_nested():
            await session.execute(
                update(Account)
                .where(Account.id == account.id)
                .values(phone=phone, phone_index=blind_index(phone, kind="phone"))
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        raise PhoneAlreadyRegistered("该手机号已绑定其他账户") from None
    await session.refresh(account)
    await audit.record(
        session,
        caller,
        "account.phone_change" if had_phone else "account.phone_bind",
        target_kind="accounts",
        target_id=account.id,
        details={"phone": mask_phone(phone)},
    )
    return account
