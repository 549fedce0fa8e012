"""Family patients, real-name verification and addresses (patient app); patients and identity reviews
(back office)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from ihos.auth.caller import Caller
from ihos.auth.deps import PatientCaller, requires
from ihos.auth.permissions import Permission
from ihos.files.service import signed_link
from ihos.kit.http import DbSession
from ihos.kit.schema import Page
from ihos.kit.time import local_today, now
from ihos.models.accounts import Account
from ihos.models.files import StoredFile
from ihos.models.patients import Address, IdentityReview, Patient
from ihos.patients import repository, service
from ihos.patients.schemas import (
    AccountDetail,
    AccountSummary,
    AddressIn,
    AddressOut,
    AddressUpdate,
    FamilyPatientOut,
    HoldingAccount,
    IdentityReviewOut,
    PatientDetail,
    PatientIn,
    PatientSummary,
    PatientUnmasked,
    PatientUpdate,
    RealNameIn,
    RealNameOut,
    Rejection,
    Unmasking,
)
from ihos.security.masking import mask_id_number, mask_name, mask_phone

router = APIRouter(tags=["patients"])

Reader = Annotated[Caller, Depends(requires(Permission.PATIENT_READ))]
Unmasker = Annotated[Caller, Depends(requires(Permission.PATIENT_UNMASK))]
Reviewer = Annotated[Caller, Depends(requires(Permission.IDENTITY_REVIEW))]
PasswordResetter = Annotated[Caller, Depends(requires(Permission.PATIENT_PASSWORD_RESET))]
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def family_patient_out(held: service.HeldPatient) -> FamilyPatientOut:
    patient, holding = held.patient, held.holding
    birth = patient.birth_date
    today = local_today()
    return FamilyPatientOut(
        id=patient.id,
        name=mask_name(patient.name) or "",
        id_number=mask_id_number(patient.id_number) or "",
        phone=mask_phone(patient.phone) or "",
        sex=patient.sex,
        birth_date=birth,
        age=today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day)),
        relation=holding.relation,
        is_default=holding.is_default,
        health_card_number=patient.health_card_number,
        identity_status=patient.identity_status,
    )


def unmasked(patient: Patient) -> PatientUnmasked:
    return PatientUnmasked(id=patient.id, name=patient.name, id_number=patient.id_number, phone=patient.phone)


def address_out(address: Address) -> AddressOut:
    return AddressOut(
        id=address.id,
        recipient=mask_name(address.recipient) or "",
        phone=mask_phone(address.phone) or "",
        province=address.province,
        city=address.city,
        district=address.district,
        detail=address.detail,
        is_default=address.is_default,
    )


async def review_out(session: DbSession, review: IdentityReview, *, for_reviewer: bool) -> IdentityReviewOut:
    """A review; the reviewer's view shows the photos and the full name and ID number to compare them
    with (the service audits that look), every other view is masked."""
    urls = []
    if for_reviewer:
        for file_id in review.document_file_ids:
            stored = await session.get(StoredFile, uuid.UUID(file_id))
            if stored is not None:
                urls.append(signed_link(stored))
    return IdentityReviewOut(
        id=review.id,
        account_id=review.account_id,
        name=review.name if for_reviewer else mask_name(review.name),
        id_number=review.id_number if for_reviewer else mask_id_number(review.id_number),
        state=review.state,
        reason=review.reason,
        created_at=review.created_at,
        reviewed_at=review.reviewed_at,
        document_urls=urls,
    )


def account_summary(account: Account) -> AccountSummary:
    return AccountSummary(
        id=account.id,
        username=account.username,
        phone=mask_phone(account.phone) if account.phone else None,
        real_name_status=account.real_name_status,
        is_active=account.is_active,
        is_locked=account.locked_until is not None and account.locked_until > now(),
        created_at=account.created_at,
        last_sign_in_at=account.last_sign_in_at,
    )


def patient_summary(patient: Patient) -> PatientSummary:
    return PatientSummary(
        id=patient.id,
        name=mask_name(patient.name) or "",
        id_number=mask_id_number(patient.id_number) or "",
        phone=mask_phone(patient.phone) or "",
        sex=patient.sex,
        birth_date=patient.birth_date,
        identity_status=patient.identity_status,
        created_at=patient.created_at,
    )


# patient app: family patients ------------------------------------------------------------------


@router.get("/me/patients", response_model=list[FamilyPatientOut], summary="我的就诊人")
async def my_patients(session: DbSession, caller: PatientCaller) -> list[FamilyPatientOut]:
    return [family_patient_out(held) for held in await service.my_patients(session, caller)]


@router.post("/me/patients", status_code=201, response_model=FamilyPatientOut, summary="添加就诊人")
async def add_patient(body: PatientIn, session: DbSession, caller: PatientCaller) -> FamilyPatientOut:
    return family_patient_out(await service.add_patient(session, caller, **body.model_dump()))


@router.patch(
    "/me/patients/{patient_id}", response_model=FamilyPatientOut, summary="修改就诊人（手机号、关系、健康卡）"
)
async def update_patient(
    patient_id: uuid.UUID, body: PatientUpdate, session: DbSession, caller: PatientCaller
) -> FamilyPatientOut:
    held = await service.update_patient(session, caller, patient_id, **body.model_dump(exclude_unset=True))
    return family_patient_out(held)


@router.delete("/me/patients/{patient_id}", status_code=204, summary="移除就诊人")
async def remove_patient(patient_id: uuid.UUID, session: DbSession, caller: PatientCaller) -> None:
    await service.remove_patient(session, caller, patient_id)


@router.post("/me/patients/{patient_id}/default", response_model=FamilyPatientOut, summary="设为默认就诊人")
async def set_default_patient(
    patient_id: uuid.UUID, session: DbSession, caller: PatientCaller
) -> FamilyPatientOut:
    return family_patient_out(await service.set_default_patient(session, caller, patient_id))


@router.post(
    "/me/patients/{patient_id}/unmask",
    response_model=PatientUnmasked,
    summary="查看就诊人完整信息（记录审计）",
)
async def unmask_my_patient(
    patient_id: uuid.UUID, session: DbSession, caller: PatientCaller
) -> PatientUnmasked:
    return unmasked(await service.unmask_own_patient(session, caller, patient_id))


# patient app: real-name verification -----------------------------------------------------------


@router.get("/me/real-name", response_model=RealNameOut, summary="实名认证状态")
async def real_name_status(session: DbSession, caller: PatientCaller) -> RealNameOut:
    status = await service.real_name_status(session, caller)
    review = await review_out(session, status.review, for_reviewer=False) if status.review else None
    return RealNameOut(status=status.status, review=review)


@router.post("/me/real-name", response_model=FamilyPatientOut, summary="实名认证（在线核验）")
async def verify_real_name(body: RealNameIn, session: DbSession, caller: PatientCaller) -> FamilyPatientOut:
    patient = await service.verify_real_name(session, caller, **body.model_dump())
    return family_patient_out(await service.my_patient(session, caller, patient.id))


@router.post(
    "/me/real-name/review",
    status_code=201,
    response_model=IdentityReviewOut,
    summary="上传身份证照片申请人工审核",
)
async def submit_identity_review(
    session: DbSession,
    caller: PatientCaller,
    name: Annotated[str, Form(min_length=1, max_length=50)],
    id_number: Annotated[str, Form(min_length=1, max_length=20)],
    documents: Annotated[list[UploadFile], File(description="身份证人像面、国徽面照片")],
) -> IdentityReviewOut:
    files = [(await document.read(MAX_DOCUMENT_BYTES + 1), document.filename) for document in documents]
    review = await service.submit_identity_review(
        session, caller, name=name, id_number=id_number, documents=files
    )
    return await review_out(session, review, for_reviewer=False)


@router.post(
    "/me/real-name/review/{review_id}/documents",
    response_model=IdentityReviewOut,
    summary="为待审核的申请再上传一张照片（小程序每次只能上传一个文件）",
)
async def add_review_document(
    review_id: uuid.UUID, session: DbSession, caller: PatientCaller, document: Annotated[UploadFile, File()]
) -> IdentityReviewOut:
    data = await document.read(MAX_DOCUMENT_BYTES + 1)
    review = await service.add_review_document(
        session, caller, review_id, data=data, filename=document.filename
    )
    return await review_out(session, review, for_reviewer=False)


# patient app: addresses ------------------------------------------------------------------------


@router.get("/me/addresses", response_model=list[AddressOut], summary="我的收货地址")
async def my_addresses(session: DbSession, caller: PatientCaller) -> list[AddressOut]:
    return [address_out(a) for a in await service.my_addresses(session, caller)]


@router.post("/me/addresses", status_code=201, response_model=AddressOut, summary="添加收货地址")
async def add_address(body: AddressIn, session: DbSession, caller: PatientCaller) -> AddressOut:
    return address_out(await service.add_address(session, caller, **body.model_dump()))


@router.patch("/me/addresses/{address_id}", response_model=AddressOut, summary="修改收货地址")
async def update_address(
    address_id: uuid.UUID, body: AddressUpdate, session: DbSession, caller: PatientCaller
) -> AddressOut:
    # null means "leave it": every field of an address is required, so none can be cleared.
    return address_out(
        await service.update_address(session, caller, address_id, **body.model_dump(exclude_none=True))
    )


@router.delete("/me/addresses/{address_id}", status_code=204, summary="删除收货地址")
async def remove_address(address_id: uuid.UUID, session: DbSession, caller: PatientCaller) -> None:
    await service.remove_address(session, caller, address_id)


# back office (AD-02) ---------------------------------------------------------------------------


@router.get("/accounts", response_model=Page[AccountSummary], summary="患者账户查询（手机号或用户名）")
async def search_accounts(
    session: DbSession,
    caller: Reader,
    q: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[AccountSummary]:
    rows, total = await repository.search_accounts(
        session, text=q, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(items=[account_summary(a) for a in rows], total=total, page=page, page_size=page_size)


@router.get("/accounts/{account_id}", response_model=AccountDetail, summary="账户及其就诊人")
async def account_detail(account_id: uuid.UUID, session: DbSession, caller: Reader) -> AccountDetail:
    detail = await service.account_detail(session, caller, account_id)
    summary = account_summary(detail.account)
    return AccountDetail(
        **summary.model_dump(), patients=[family_patient_out(held) for held in detail.patients]
    )


@router.post(
    "/accounts/{account_id}/password-reset", status_code=204, summary="客服重置患者密码（短信发送临时密码）"
)
async def reset_account_password(account_id: uuid.UUID, session: DbSession, caller: PasswordResetter) -> None:
    await service.reset_account_password(session, caller, account_id)


@router.get("/patients", response_model=Page[PatientSummary], summary="就诊人查询（姓名、身份证号或手机号）")
async def search_patients(
    session: DbSession,
    caller: Reader,
    q: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[PatientSummary]:
    rows, total = await repository.search_patients(
        session, text=q, offset=(page - 1) * page_size, limit=page_size
    )
    return Page(items=[patient_summary(p) for p in rows], total=total, page=page, page_size=page_size)


@router.get("/patients/{patient_id}", response_model=PatientDetail, summary="就诊人及持有它的账户")
async def patient_detail(patient_id: uuid.UUID, session: DbSession, caller: Reader) -> PatientDetail:
    detail = await service.patient_detail(session, caller, patient_id)
    return PatientDetail(
        **patient_summary(detail.patient).model_dump(),
        health_card_number=detail.patient.health_card_number,
        accounts=[
            HoldingAccount(account=account_summary(a), relation=h.relation) for h, a in detail.holdings
        ],
    )


@router.post(
    "/patients/{patient_id}/unmask", response_model=PatientUnmasked, summary="查看就诊人完整信息（记录审计）"
)
async def unmask_patient(
    patient_id: uuid.UUID, body: Unmasking, session: DbSession, caller: Unmasker
) -> PatientUnmasked:
    return unmasked(await service.unmask_patient(session, caller, patient_id, reason=body.reason))


@router.get("/identity-reviews", response_model=Page[IdentityReviewOut], summary="实名人工审核队列")
async def identity_reviews(
    session: DbSession,
    caller: Reviewer,
    state: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = "pending",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[IdentityReviewOut]:
    rows, total = await repository.identity_reviews(
        session, state=state, offset=(page - 1) * page_size, limit=page_size
    )
    items = [await review_out(session, r, for_reviewer=False) for r in rows]
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get(
    "/identity-reviews/{review_id}", response_model=IdentityReviewOut, summary="审核详情（含证件照片链接）"
)
async def identity_review(review_id: uuid.UUID, session: DbSession, caller: Reviewer) -> IdentityReviewOut:
    return await review_out(
        session, await service.identity_review(session, caller, review_id), for_reviewer=True
    )


@router.post("/identity-reviews/{review_id}/approve", response_model=IdentityReviewOut, summary="审核通过")
async def approve_identity_review(
    review_id: uuid.UUID, session: DbSession, caller: Reviewer
) -> IdentityReviewOut:
    review = await service.approve_identity_review(session, caller, review_id)
    return await review_out(session, review, for_reviewer=False)


@router.post(
    "/identity-reviews/{review_id}/reject", response_model=IdentityReviewOut, summary="审核驳回（须填写原因）"
)
async def reject_identity_review(
    review_id: uuid.UUID, body: Rejection, session: DbSession, caller: Reviewer
) -> IdentityReviewOut:
    review = await service.reject_identity_review(session, caller, review_id, reason=body.reason)
    return await review_out(session, review, for_reviewer=False)
