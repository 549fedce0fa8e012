"""Sign-in, registration, SMS codes, passwords and sessions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Header, status

from ihos.auth import consents, service, sessions
from ihos.auth.deps import CurrentCaller, PatientCaller, SignedIn
from ihos.auth.schemas import (
    AccountOut,
    AlipaySignIn,
    Me,
    PasswordChange,
    PasswordReset,
    PasswordSignIn,
    PatientSession,
    PhoneBinding,
    PhoneRegistration,
    PolicyOut,
    SessionOut,
    SmsCodeRequest,
    SmsCodeSent,
    SmsSignIn,
    StaffSession,
    StaffSignInRequest,
    StaffSummary,
    TotpEnrolment,
    UsernameRegistration,
    WeChatSignIn,
)
from ihos.auth.throttle import SignInThrottle, SmsThrottle
from ihos.kit.http import DbSession
from ihos.models.accounts import Account
from ihos.security.masking import mask_phone

router = APIRouter(prefix="/auth", tags=["auth"])
UserAgent = Header(default=None, include_in_schema=False)


def _account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        username=account.username,
        phone=mask_phone(account.phone) if account.phone else None,
        real_name_status=account.real_name_status,
        has_password=account.password_hash is not None,
    )


def _patient_session(result: service.PatientSignIn) -> PatientSession:
    return PatientSession(
        token=result.issued.token,
        expires_at=result.issued.session.expires_at,
        is_new_account=result.is_new_account,
        account=_account_out(result.account),
    )


def _staff_session(result: service.StaffSignIn, *, must_change_password: bool = False) -> StaffSession:
    staff = result.staff
    summary = StaffSummary(
        id=staff.id,
        name=staff.name,
        staff_number=staff.staff_number,
        username=staff.username,
        roles=sorted(role.code for role in staff.roles),
    )
    if result.issued is None:
        return StaffSession(
            status="totp_enrolment_required",
            staff=summary,
            totp_enrolment_uri=result.totp_enrolment_uri,
            totp_enrolment_secret=result.totp_enrolment_secret,
        )
    return StaffSession(
        status="signed_in",
        token=result.issued.token,
        expires_at=result.issued.session.expires_at,
        idle_timeout_seconds=result.issued.session.idle_timeout_seconds,
        must_change_password=must_change_password,
        staff=summary,
    )


@router.get("/policies", response_model=list[PolicyOut], summary="用户协议、隐私政策及单独同意书（当前版本）")
async def policies() -> list[PolicyOut]:
    return [
        PolicyOut.model_validate(consents.policy(document), from_attributes=True)
        for document in consents.DOCUMENTS
    ]


@router.post(
    "/sms-codes",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SmsCodeSent,
    summary="发送短信验证码",
    dependencies=[SmsThrottle],
)
async def request_sms_code(body: SmsCodeRequest, session: DbSession, caller: CurrentCaller) -> SmsCodeSent:
    sent = await service.send_sms_code(session, caller, phone=body.phone, purpose=body.purpose)
    return SmsCodeSent(
        resend_after_seconds=sent.resend_after_seconds, expires_in_seconds=sent.expires_in_seconds
    )


@router.post(
    "/register/username",
    status_code=201,
    response_model=PatientSession,
    summary="用户名+密码注册",
    dependencies=[SignInThrottle],
)
async def register_username(
    body: UsernameRegistration, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> PatientSession:
    result = await service.register_with_username(
        session,
        caller,
        username=body.username,
        password=body.password,
        consents_given=body.consents.given(),
        user_agent=user_agent,
    )
    return _patient_session(result)


@router.post(
    "/register/phone",
    status_code=201,
    response_model=PatientSession,
    summary="手机号+验证码注册（可同时设置密码）",
    dependencies=[SignInThrottle],
)
async def register_phone(
    body: PhoneRegistration, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> PatientSession:
    result = await service.register_with_phone(
        session,
        caller,
        phone=body.phone,
        code=body.code,
        password=body.password,
        consents_given=body.consents.given(),
        user_agent=user_agent,
    )
    return _patient_session(result)


@router.post(
    "/sign-in/password",
    response_model=PatientSession,
    summary="手机号或用户名+密码登录",
    dependencies=[SignInThrottle],
)
async def sign_in_password(
    body: PasswordSignIn, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> PatientSession:
    result = await service.sign_in_with_password(
        session, caller, login=body.login, password=body.password, user_agent=user_agent
    )
    return _patient_session(result)


@router.post(
    "/sign-in/sms", response_model=PatientSession, summary="手机号+验证码登录", dependencies=[SignInThrottle]
)
async def sign_in_sms(
    body: SmsSignIn, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> PatientSession:
    result = await service.sign_in_with_sms(
        session, caller, phone=body.phone, code=body.code, user_agent=user_agent
    )
    return _patient_session(result)


@router.post(
    "/sign-in/wechat",
    response_model=PatientSession,
    summary="微信授权登录（无需注册）",
    dependencies=[SignInThrottle],
)
async def sign_in_wechat(
    body: WeChatSignIn, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> PatientSession:
    result = await service.sign_in_with_wechat(
        session,
        caller,
        code=body.code,
        consents_given=body.consents.given() if body.consents else None,
        user_agent=user_agent,
    )
    return _patient_session(result)


@router.post(
    "/sign-in/alipay",
    response_model=PatientSession,
    summary="支付宝授权登录（无需注册）",
    dependencies=[SignInThrottle],
)
async def sign_in_alipay(
    body: AlipaySignIn, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> PatientSession:
    result = await service.sign_in_with_alipay(
        session,
        caller,
        auth_code=body.auth_code,
        consents_given=body.consents.given() if body.consents else None,
        user_agent=user_agent,
    )
    return _patient_session(result)


@router.post(
    "/password/reset", status_code=204, summary="通过短信验证码找回密码", dependencies=[SignInThrottle]
)
async def reset_password(body: PasswordReset, session: DbSession, caller: CurrentCaller) -> None:
    await service.reset_password_with_sms(
        session, caller, phone=body.phone, code=body.code, new_password=body.new_password
    )


@router.post(
    "/staff/sign-in",
    response_model=StaffSession,
    summary="工作人员登录（管理员需动态码）",
    dependencies=[SignInThrottle],
)
async def staff_sign_in(
    body: StaffSignInRequest, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> StaffSession:
    result = await service.sign_in_staff(
        session,
        caller,
        username=body.username,
        password=body.password,
        totp_code=body.totp_code,
        user_agent=user_agent,
    )
    return _staff_session(result, must_change_password=await service.password_expired(session, result.staff))


@router.post(
    "/staff/totp/enrol",
    response_model=StaffSession,
    summary="绑定身份验证器并登录",
    dependencies=[SignInThrottle],
)
async def staff_totp_enrol(
    body: TotpEnrolment, session: DbSession, caller: CurrentCaller, user_agent: str | None = UserAgent
) -> StaffSession:
    result = await service.enrol_totp(
        session,
        caller,
        username=body.username,
        password=body.password,
        totp_code=body.totp_code,
        user_agent=user_agent,
    )
    return _staff_session(result, must_change_password=await service.password_expired(session, result.staff))


@router.post("/sign-out", status_code=204, summary="退出登录")
async def sign_out(session: DbSession, caller: SignedIn) -> None:
    await service.sign_out(session, caller)


@router.get("/me", response_model=Me, summary="当前登录者")
async def me(session: DbSession, caller: SignedIn) -> Me:
    idle = None
    if caller.session_id is not None:
        auth_session = await session.get(sessions.AuthSession, caller.session_id)
        idle = auth_session.idle_timeout_seconds if auth_session else None
    return Me(
        kind=caller.kind,
        id=caller.subject_id,
        label=caller.label,
        roles=sorted(caller.roles),
        permissions=sorted(p.value for p in caller.permissions),
        campus_ids=sorted(caller.campus_ids) if caller.campus_ids is not None else None,
        must_change_password=caller.must_change_password,
        idle_timeout_seconds=idle,
    )


@router.put("/phone", response_model=AccountOut, summary="绑定或更换手机号（验证码发到新手机号）")
async def bind_phone(body: PhoneBinding, session: DbSession, caller: PatientCaller) -> AccountOut:
    return _account_out(await service.bind_phone(session, caller, phone=body.phone, code=body.code))


@router.get("/account", response_model=AccountOut, summary="我的账户")
async def my_account(session: DbSession, caller: PatientCaller) -> AccountOut:
    return _account_out(await session.get_one(Account, caller.subject_id))


@router.put("/password", status_code=204, summary="修改自己的密码")
async def change_password(body: PasswordChange, session: DbSession, caller: SignedIn) -> None:
    await service.change_own_password(
        session, caller, current_password=body.current_password, new_password=body.new_password
    )


@router.get("/sessions", response_model=list[SessionOut], summary="我的登录设备")
async def my_sessions(session: DbSession, caller: SignedIn) -> list[SessionOut]:
    return [
        SessionOut(
            id=s.id,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            sign_in_method=s.sign_in_method,
            client_address=s.client_address,
            user_agent=s.user_agent,
            is_current=s.id == caller.session_id,
        )
        for s in await service.own_sessions(session, caller)
    ]


@router.delete("/sessions/{session_id}", status_code=204, summary="注销我的某个登录设备")
async def revoke_my_session(session_id: uuid.UUID, session: DbSession, caller: SignedIn) -> None:
    await service.revoke_own_session(session, caller, session_id)
