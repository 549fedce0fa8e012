"""Family patients (家庭就诊人), real-name verification (实名认证) and the patient back office.

Rules:
- Only name, ID number and phone are required (data minimisation); sex and birth date come from the
  ID number (GB 11643).
- One real person is one ``Patient``, found by the blind index of the ID number; several accounts may
  hold them. Taking a person already held by another account needs an SMS code sent to the phone on
  record, so knowing someone's name and ID number is not enough to see their records.
- One ID number is the "self" of at most one account (the anti-scalping rule), enforced by a unique key.
- A family patient under 14 needs the guardian's consent (PIPL 第31条), recorded with its version.
- Personal data leaves masked; unmasking is explicit and audited.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth import consents, sessions, sms
from ihos.auth.caller import Caller
from ihos.backoffice import dictionaries
from ihos.backoffice.rules import get_rule
from ihos.db import insert_unique
from ihos.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from ihos.files.service import store_file
from ihos.integrations.identity import IdentityServiceError, get_identity_verifier
from ihos.jobs import enqueue
from ihos.kit.idcard import IdNumber, InvalidIdNumber, parse_id_number
from ihos.kit.time import local_today, now
from ihos.models.accounts import Account
from ihos.models.files import FilePurpose, StoredFile
from ihos.models.patients import AccountPatient, Address, IdentityReview, Patient
from ihos.patients import repository
from ihos.security.fields import blind_index, encrypt_field
from ihos.security.masking import mask_id_number, mask_name
from ihos.security.passwords import hash_password, temporary_password

GUARDIAN_AGE = 14
MAX_REVIEW_DOCUMENTS = 3
NOTICE_JOB = "sms.send_notice"


class InvalidIdentityNumber(InvalidInput):
    code = "invalid_id_number"
    default_message = "身份证号码不正确"


class InvalidRelation(InvalidInput):
    code = "invalid_relation"
    default_message = "与本人关系不正确"


class PatientNotFound(NotFound):
    code = "patient_not_found"
    default_message = "就诊人不存在"


class PatientAlreadyAdded(Conflict):
    code = "patient_already_added"
    default_message = "该就诊人已在您的就诊人列表中"


class TooManyPatients(Conflict):
    code = "too_many_patients"
    default_message = "就诊人数量已达上限"


class SelfNeedsRealName(InvalidInput):
    code = "self_needs_real_name"
    default_message = "本人信息请通过实名认证添加"


class SelfAlreadyExists(Conflict):
    code = "self_already_exists"
    default_message = "本人信息已存在，一个账户只能有一位本人"


class IdNumberBoundElsewhere(Conflict):
    code = "id_number_bound_elsewhere"
    default_message = "该身份证号已被其他账户认证为本人，一个身份证号只能绑定一个账户"


class NameMismatch(InvalidInput):
    code = "name_mismatch"
    default_message = "姓名与身份证号码不一致"


class PatientVerificationRequired(Conflict):
    code = "patient_verification_required"
    default_message = "该就诊人已在医院登记，请核对姓名和手机号，并获取发送到其登记手机号的验证码后再添加"


class GuardianConsentRequired(InvalidInput):
    code = "guardian_consent_required"
    default_message = "就诊人未满14周岁，须由监护人阅读并同意《监护人同意书》"


class SelfCannotBeRemoved(Conflict):
    code = "self_cannot_be_removed"
    default_message = "本人信息不能删除"


class SharedPatient(Forbidden):
    code = "shared_patient"
    default_message = "该就诊人由多个账户共同管理，只能由本人修改手机号"


class AlreadyVerified(Conflict):
    code = "already_verified"
    default_message = "您已完成实名认证"


class ReviewPending(Conflict):
    code = "review_pending"
    default_message = "您的实名资料正在审核中，请耐心等待"


class IdentityMismatch(InvalidInput):
    code = "identity_mismatch"
    default_message = "姓名与身份证号码不一致，请核对后重试"


class IdentityNotFound(InvalidInput):
    code = "identity_not_found"
    default_message = "未能在线核验您的身份，请上传身份证照片进行人工审核"


class IdentityUnavailable(ServiceUnavailable):
    code = "identity_service_unavailable"
    default_message = "实名认证服务暂时不可用，请稍后再试，或上传身份证照片进行人工审核"


class PhoneRequired(InvalidInput):
    code = "phone_required"
    default_message = "请先在“我的账户”中绑定手机号，再申请人工审核"


class ReviewNotFound(NotFound):
    code = "review_not_found"
    default_message = "审核记录不存在"


class ReviewAlreadyDecided(Conflict):
    code = "review_already_decided"
    default_message = "该审核已处理"


class AccountNotFound(NotFound):
    code = "account_not_found"
    default_message = "账户不存在"


class AddressNotFound(NotFound):
    code = "address_not_found"
    default_message = "地址不存在"


class NoPhoneForReset(Conflict):
    code = "no_phone"
    default_message = "该账户未绑定手机号，无法发送临时密码"


def _parse_id(id_number: str) -> IdNumber:
    try:
        return parse_id_number(id_number, today=local_today())
    except InvalidIdNumber as exc:
        raise InvalidIdentityNumber(str(exc)) from None


def _account_id(caller: Caller) -> uuid.UUID:
    return caller.subject_id


async def _insert_or(session: AsyncSession, row: object, error: Conflict) -> None:
    """Insert ``row``, turning a unique-constraint violation into ``error`` (the constraint decides races)."""
    if not await insert_unique(session, row):
        raise error


# ---------------------------------------------------------------------------------------------
# family patients


@dataclass(frozen=True)
class HeldPatient:
    holding: AccountPatient
    patient: Patient


async def my_patients(session: AsyncSession, caller: Caller) -> list[HeldPatient]:
    return [HeldPatient(h, p) for h, p in await repository.holdings_of_account(session, _account_id(caller))]


async def my_patient(session: AsyncSession, caller: Caller, patient_id: uuid.UUID) -> HeldPatient:
    holding = await repository.holding(session, _account_id(caller), patient_id)
    patient = await session.get(Patient, patient_id) if holding else None
    if holding is None or patient is None:
        raise PatientNotFound()
    return HeldPatient(holding, patient)


async def _check_relation(session: AsyncSession, relation: str) -> None:
    if not await dictionaries.has_entry(session, "relation", relation):
        raise InvalidRelation()


async def add_patient(
    session: AsyncSession,
    caller: Caller,
    *,
    name: str,
    id_number: str,
    phone: str,
    relation: str,
    health_card_number: str | None = None,
    guardian_consent: bool = False,
    sms_code: str | None = None,
) -> HeldPatient:
    account_id = _account_id(caller)
    parsed = _parse_id(id_number)
    phone = sms.phone_or_error(phone)
    await _check_relation(session, relation)
    under_guardian_age = parsed.age_on(local_today()) < GUARDIAN_AGE
    if under_guardian_age and not guardian_consent:
        raise GuardianConsentRequired()
    if await repository.count_holdings(session, account_id) >= await get_rule(
        session, "patients.max_family_patients"
    ):
        raise TooManyPatients()
    if relation == "self":
        # "Self" is the real-name identity of the account: it comes only from verification, or anyone
        # could take a stranger's ID number as their own and lock the real person out.
        raise SelfNeedsRealName()

    patient = await repository.patient_by_id_number(session, parsed.value)
    if patient is None:
        patient = Patient(
            name=name,
            id_number=parsed.value,
            id_number_index=blind_index(parsed.value, kind="id_number"),
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            phone=phone,
            phone_index=blind_index(phone, kind="phone"),
            health_card_number=health_card_number,
        )
        await _insert_or(session, patient, PatientVerificationRequired())
    else:
        await _check_may_take_existing(
            session, account_id, patient, name=name, phone=phone, sms_code=sms_code
        )

    holding = await _hold(session, account_id, patient, relation=relation)
    if under_guardian_age:
        await consents.record(
            session,
            account_id,
            {"guardian": consents.current_version("guardian")},
            client_address=caller.client_address,
            patient_id=patient.id,
        )
    await audit.record(
        session,
        caller,
        "patient.add",
        target_kind="patients",
        target_id=patient.id,
        details={"relation": relation, "name": mask_name(name), "guardian_consent": under_guardian_age},
    )
    return HeldPatient(holding, patient)


async def _check_may_take_existing(
    session: AsyncSession,
    account_id: uuid.UUID,
    patient: Patient,
    *,
    name: str,
    phone: str,
    sms_code: str | None,
) -> None:
    if await repository.holding(session, account_id, patient.id) is not None:
        raise PatientAlreadyAdded()
    # One answer for a wrong name, a wrong phone and a missing code: separate answers would tell
    # anyone who holds an ID number the name on record and confirm a guessed phone.
    if sms_code is None or patient.name != name.strip() or patient.phone != phone:
        raise PatientVerificationRequired()
    await sms.consume_code(session, phone=phone, purpose="bind_patient", code=sms_code)


async def _hold(
    session: AsyncSession, account_id: uuid.UUID, patient: Patient, *, relation: str
) -> AccountPatient:
    is_first = await repository.count_holdings(session, account_id) == 0
    holding = AccountPatient(
        account_id=account_id,
        patient_id=patient.id,
        relation=relation,
        is_default=is_first,
        self_account_key=account_id if relation == "self" else None,
        self_patient_key=patient.id if relation == "self" else None,
    )
    error = IdNumberBoundElsewhere() if relation == "self" else PatientAlreadyAdded()
    await _insert_or(session, holding, error)
    return holding


async def update_patient(
    session: AsyncSession,
    caller: Caller,
    patient_id: uuid.UUID,
    *,
    phone: str | None = None,
    relation: str | None = None,
    health_card_number: str | None = None,
) -> HeldPatient:
    """Name and ID number are fixed (remove and add again to correct them); phone, relation, card change."""
    held = await my_patient(session, caller, patient_id)
    changed = []
    if phone is not None:
        phone = sms.phone_or_error(phone)
        holders = await repository.holders_of_patient(session, patient_id)
        if len(holders) > 1 and held.holding.relation != "self":
            raise SharedPatient()
        held.patient.phone = phone
        held.patient.phone_index = blind_index(phone, kind="phone")
        changed.append("phone")
    if relation is not None and relation != held.holding.relation:
        if "self" in (relation, held.holding.relation):
            raise InvalidRelation("本人关系不能修改")
        await _check_relation(session, relation)
        held.holding.relation = relation
        changed.append("relation")
    if health_card_number is not None:
        held.patient.health_card_number = health_card_number or None
        changed.append("health_card_number")
    await session.flush()
    await audit.record(
        session,
        caller,
        "patient.update",
        target_kind="patients",
        target_id=patient_id,
        details={"fields": changed},
    )
    return held


async def remove_patient(session: AsyncSession, caller: Caller, patient_id: uuid.UUID) -> None:
    """Remove a family patient from the account; the person's records stay with the hospital."""
    held = await my_patient(session, caller, patient_id)
    if held.holding.relation == "self":
        raise SelfCannotBeRemoved()
    await session.delete(held.holding)
    await session.flush()
    if held.holding.is_default:
        remaining = await repository.holdings_of_account(session, _account_id(caller))
        if remaining:
            remaining[0][0].is_default = True
    await audit.record(session, caller, "patient.remove", target_kind="patients", target_id=patient_id)


async def set_default_patient(session: AsyncSession, caller: Caller, patient_id: uuid.UUID) -> HeldPatient:
    held = await my_patient(session, caller, patient_id)
    await session.execute(
        update(AccountPatient)
        .where(AccountPatient.account_id == _account_id(caller))
        .values(is_default=AccountPatient.patient_id == patient_id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(held.holding)
    await audit.record(session, caller, "patient.set_default", target_kind="patients", target_id=patient_id)
    return held


async def unmask_own_patient(session: AsyncSession, caller: Caller, patient_id: uuid.UUID) -> Patient:
    held = await my_patient(session, caller, patient_id)
    await audit.record(session, caller, "patient.unmask", target_kind="patients", target_id=patient_id)
    return held.patient


# ---------------------------------------------------------------------------------------------
# real-name verification (PT-07)


@dataclass(frozen=True)
class RealNameStatus:
    status: str
    review: IdentityReview | None


async def real_name_status(session: AsyncSession, caller: Caller) -> RealNameStatus:
    account = await _account(session, _account_id(caller))
    return RealNameStatus(account.real_name_status, await repository.latest_review(session, account.id))


async def _account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountNotFound()
    return account


def _check_may_verify(account: Account) -> None:
    if account.real_name_status == "verified":
        raise AlreadyVerified()
    if account.real_name_status == "pending_review":
        raise ReviewPending()


async def _bind_self(
    session: AsyncSession,
    account: Account,
    *,
    name: str,
    parsed: IdNumber,
    phone: str,
    sms_code: str | None = None,
    reviewed: bool = False,
) -> Patient:
    """Make the verified person the account's "self" patient (creating or reusing the patient).

    The identity service only says that a name and an ID number belong together, which anyone who
    knows them can show. Taking a patient the hospital already has (held by other accounts) therefore
    also needs proof of the phone on record, as adding them as a family patient does: the account's
    own phone or an SMS code sent to it; unless staff checked the identity documents (``reviewed``).
    """
    patient = await repository.patient_by_id_number(session, parsed.value)
    if patient is None:
        patient = Patient(
            name=name,
            id_number=parsed.value,
            id_number_index=blind_index(parsed.value, kind="id_number"),
            sex=parsed.sex,
            birth_date=parsed.birth_date,
            phone=phone,
            phone_index=blind_index(phone, kind="phone"),
        )
        await _insert_or(session, patient, IdNumberBoundElsewhere())
        existing = None
    else:
        if patient.name != name:
            raise NameMismatch()
        existing = await repository.holding(session, account.id, patient.id)
        if existing is None and not reviewed:
            await _check_may_take_as_self(session, account, patient, sms_code=sms_code)
    if existing is not None:
        # Already held as a family member: promote the holding to "self" (the unique key still decides).
        if await repository.self_holding(session, account.id) not in (None, existing):
            raise SelfAlreadyExists()
        try:
            async with session.begin_nested():
                await session.execute(
                    update(AccountPatient)
                    .where(AccountPatient.id == existing.id)
                    .values(relation="self", self_account_key=account.id, self_patient_key=patient.id)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            raise IdNumberBoundElsewhere() from None
        await session.refresh(existing)
    else:
        if await repository.self_holding(session, account.id) is not None:
            raise SelfAlreadyExists()
        await _hold(session, account.id, patient, relation="self")
    patient.identity_status = "verified"
    patient.identity_verified_at = now()
    account.real_name_status = "verified"
    await session.flush()
    return patient


async def _check_may_take_as_self(
    session: AsyncSession, account: Account, patient: Patient, *, sms_code: str | None
) -> None:
    if await repository.self_holding_of_patient(session, patient.id) is not None:
        raise IdNumberBoundElsewhere()
    if account.phone is not None and account.phone == patient.phone:
        return  # the account's phone, proven by SMS at registration, is the phone on record
    if sms_code is None:
        raise PatientVerificationRequired(
            "您的身份信息已在医院登记为就诊人，请获取发送到其登记手机号的验证码后再认证，"
            "或上传身份证照片进行人工审核"
        )
    await sms.consume_code(session, phone=patient.phone, purpose="bind_patient", code=sms_code)


async def verify_real_name(
    session: AsyncSession,
    caller: Caller,
    *,
    name: str,
    id_number: str,
    phone: str | None,
    sms_code: str | None = None,
) -> Patient:
    """Check name + ID number with the identity service and bind the person as the account's self."""
    account = await _account(session, _account_id(caller))
    _check_may_verify(account)
    parsed = _parse_id(id_number)
    phone = sms.phone_or_error(phone or account.phone or "")
    try:
        check = await get_identity_verifier().verify(name, parsed.value)
    except IdentityServiceError as exc:
        raise IdentityUnavailable(
            record=audit.failed(caller, "account.real_name", details={"reason": exc.code})
        ) from exc
    if check.status != "matched":
        error = IdentityMismatch if check.status == "mismatched" else IdentityNotFound
        raise error(
            record=audit.failed(
                caller, "account.real_name", details={"reason": check.status, "reference": check.reference}
            )
        )
    patient = await _bind_self(session, account, name=name, parsed=parsed, phone=phone, sms_code=sms_code)
    await audit.record(
        session,
        caller,
        "account.real_name",
        target_kind="patients",
        target_id=patient.id,
        details={"method": "identity_service", "reference": check.reference},
    )
    return patient


async def submit_identity_review(
    session: AsyncSession,
    caller: Caller,
    *,
    name: str,
    id_number: str,
    documents: Sequence[tuple[bytes, str | None]],
) -> IdentityReview:
    """Upload ID photos for a person to check by hand when the identity service cannot decide. The
    mini-programs upload one photo per request: the others follow with ``add_review_document``."""
    account = await _account(session, _account_id(caller))
    _check_may_verify(account)
    if account.phone is None:
        # Approval makes the person the account's self, whose phone must be a proven one.
        raise PhoneRequired()
    parsed = _parse_id(id_number)
    if not 1 <= len(documents) <= MAX_REVIEW_DOCUMENTS:
        raise InvalidInput("请上传1–3张身份证照片（人像面、国徽面）")
    file_ids = [
        str((await _store_document(session, caller, account, data, filename)).id)
        for data, filename in documents
    ]
    review = IdentityReview(
        account_id=account.id,
        name=name,
        id_number=parsed.value,
        id_number_index=blind_index(parsed.value, kind="id_number"),
        document_file_ids=file_ids,
    )
    session.add(review)
    account.real_name_status = "pending_review"
    await session.flush()
    await audit.record(
        session, caller, "identity_review.submit", target_kind="identity_reviews", target_id=review.id
    )
    return review


async def _store_document(
    session: AsyncSession, caller: Caller, account: Account, data: bytes, filename: str | None
) -> StoredFile:
    return await store_file(
        session,
        purpose=FilePurpose.IDENTITY_DOCUMENT,
        data=data,
        filename=filename,
        owner_kind="account",
        owner_id=account.id,
        uploaded_by_kind=caller.kind,
        uploaded_by_id=caller.subject_id,
    )


async def add_review_document(
    session: AsyncSession, caller: Caller, review_id: uuid.UUID, *, data: bytes, filename: str | None
) -> IdentityReview:
    """One more photo for the caller's pending review (at most three in all)."""
    review = await session.get(IdentityReview, review_id)
    if review is None or review.account_id != caller.subject_id:
        raise ReviewNotFound()
    if review.state != "pending":
        raise ReviewAlreadyDecided()
    if len(review.document_file_ids) >= MAX_REVIEW_DOCUMENTS:
        raise InvalidInput("最多上传3张身份证照片")
    account = await _account(session, review.account_id)
    stored = await _store_document(session, caller, account, data, filename)
    review.document_file_ids = [*review.document_file_ids, str(stored.id)]
    await session.flush()
    await audit.record(
        session, caller, "identity_review.add_document", target_kind="identity_reviews", target_id=review.id
    )
    return review


async def approve_identity_review(
    session: AsyncSession, caller: Caller, review_id: uuid.UUID
) -> IdentityReview:
    review = await _pending_review(session, review_id)
    account = await _account(session, review.account_id)
    phone = account.phone
    if phone is None:
        raise InvalidInput("该账户未绑定手机号，无法完成实名")
    await _bind_self(
        session, account, name=review.name, parsed=_parse_id(review.id_number), phone=phone, reviewed=True
    )
    review.state = "approved"
    review.reviewer_id = caller.id
    review.reviewed_at = now()
    await session.flush()
    await audit.record(
        session, caller, "identity_review.approve", target_kind="identity_reviews", target_id=review.id
    )
    return review


async def reject_identity_review(
    session: AsyncSession, caller: Caller, review_id: uuid.UUID, *, reason: str
) -> IdentityReview:
    review = await _pending_review(session, review_id)
    account = await _account(session, review.account_id)
    review.state = "rejected"
    review.reason = reason
    review.reviewer_id = caller.id
    review.reviewed_at = now()
    account.real_name_status = "rejected"
    await session.flush()
    await audit.record(
        session,
        caller,
        "identity_review.reject",
        target_kind="identity_reviews",
        target_id=review.id,
        details={"reason": reason},
    )
    return review


async def _pending_review(session: AsyncSession, review_id: uuid.UUID) -> IdentityReview:
    review = await session.get(IdentityReview, review_id, with_for_update=True)
    if review is None:
        raise ReviewNotFound()
    if review.state != "pending":
        raise ReviewAlreadyDecided()
    return review


async def identity_review(session: AsyncSession, caller: Caller, review_id: uuid.UUID) -> IdentityReview:
    review = await session.get(IdentityReview, review_id)
    if review is None:
        raise ReviewNotFound()
    await audit.record(
        session,
        caller,
        "identity_review.view",
        target_kind="identity_reviews",
        target_id=review.id,
        details={"id_number": mask_id_number(review.id_number)},
    )
    return review


# ---------------------------------------------------------------------------------------------
# addresses


async def my_addresses(session: AsyncSession, caller: Caller) -> Sequence[Address]:
    return await repository.addresses_of_account(session, _account_id(caller))


async def _my_address(session: AsyncSession, caller: Caller, address_id: uuid.UUID) -> Address:
    address = await session.get(Address, address_id)
    if address is None or address.account_id != caller.id:
        raise AddressNotFound()
    return address


async def _make_only_default(session: AsyncSession, account_id: uuid.UUID, address_id: uuid.UUID) -> None:
    await session.execute(
        update(Address)
        .where(Address.account_id == account_id)
        .values(is_default=Address.id == address_id)
        .execution_options(synchronize_session=False)
    )


async def add_address(
    session: AsyncSession, caller: Caller, *, phone: str, is_default: bool, **fields: str
) -> Address:
    account_id = _account_id(caller)
    first = not await repository.addresses_of_account(session, account_id)
    address = Address(account_id=account_id, phone=sms.phone_or_error(phone), is_default=False, **fields)
    session.add(address)
    await session.flush()
    if is_default or first:
        await _make_only_default(session, account_id, address.id)
        await session.refresh(address)
    await audit.record(session, caller, "address.add", target_kind="addresses", target_id=address.id)
    return address


async def update_address(
    session: AsyncSession,
    caller: Caller,
    address_id: uuid.UUID,
    *,
    phone: str | None = None,
    is_default: bool | None = None,
    **changes: str,
) -> Address:
    address = await _my_address(session, caller, address_id)
    if phone is not None:
        address.phone = sms.phone_or_error(phone)
    for field, value in changes.items():
        setattr(address, field, value)
    await session.flush()
    if is_default:
        await _make_only_default(session, address.account_id, address.id)
        await session.refresh(address)
    await audit.record(session, caller, "address.update", target_kind="addresses", target_id=address.id)
    return address


async def remove_address(session: AsyncSession, caller: Caller, address_id: uuid.UUID) -> None:
    address = await _my_address(session, caller, address_id)
    was_default = address.is_default
    await session.delete(address)
    await session.flush()
    remaining = await repository.addresses_of_account(session, address.account_id)
    if was_default and remaining:
        remaining[0].is_default = True  # as with family patients, there is always a default
    await audit.record(session, caller, "address.remove", target_kind="addresses", target_id=address_id)


# ---------------------------------------------------------------------------------------------
# back office (AD-02)


@dataclass(frozen=True)
class AccountWithPatients:
    account: Account
    patients: list[HeldPatient]


@dataclass(frozen=True)
class PatientWithAccounts:
    patient: Patient
    holdings: list[tuple[AccountPatient, Account]]


async def account_detail(session: AsyncSession, caller: Caller, account_id: uuid.UUID) -> AccountWithPatients:
    """An account with its family patients, for customer service; each look is audited."""
    account = await _account(session, account_id)
    held = [HeldPatient(h, p) for h, p in await repository.holdings_of_account(session, account_id)]
    await audit.record(session, caller, "account.view", target_kind="accounts", target_id=account_id)
    return AccountWithPatients(account, held)


async def patient_detail(session: AsyncSession, caller: Caller, patient_id: uuid.UUID) -> PatientWithAccounts:
    """A patient with the accounts that hold them; each look is audited."""
    patient = await session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound()
    await audit.record(session, caller, "patient.view", target_kind="patients", target_id=patient_id)
    return PatientWithAccounts(patient, list(await repository.holders_of_patient(session, patient_id)))


async def unmask_patient(
    session: AsyncSession, caller: Caller, patient_id: uuid.UUID, *, reason: str
) -> Patient:
    """Show a patient's full ID number and phone to staff who may; each time is audited with the reason."""
    patient = await session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound()
    await audit.record(
        session,
        caller,
        "patient.unmask",
        target_kind="patients",
        target_id=patient_id,
        details={"reason": reason},
    )
    return patient


async def reset_account_password(session: AsyncSession, caller: Caller, account_id: uuid.UUID) -> None:
    """Customer service resets a patient's password (PT-04): a temporary one goes to the account's
    phone by SMS, must be changed at the next sign-in, and every session ends."""
    account = await _account(session, account_id)
    if account.phone is None:
        raise NoPhoneForReset()
    password = temporary_password()
    account.password_hash = hash_password(password)
    account.must_change_password = True
    account.failed_sign_ins = 0
    account.locked_until = None
    await sessions.revoke_all(session, account_id=account.id, reason="password_reset")
    await enqueue(
        session,
        NOTICE_JOB,
        {
            "phone": encrypt_field(account.phone),
            "template": "temporary_password",
            "params": encrypt_field(json.dumps({"password": password})),
        },
    )
    await audit.record(
        session,
        caller,
        "account.password_reset",
        target_kind="accounts",
        target_id=account.id,
        details={"method": "customer_service"},
    )
