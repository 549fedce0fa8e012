"""/api/v1/me/real-name: real-name verification (实名认证) through the identity sandbox, and the manual
review of uploaded ID photos (/api/v1/identity-reviews)."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from ihos.kit.time import local_today
from ihos.models.accounts import Account
from ihos.models.audit import AuditEntry
from ihos.models.files import StoredFile
from ihos.models.patients import AccountPatient, IdentityReview, Patient
from ihos.patients import service
from tests.patients.helpers import (
    MISMATCHED,
    NOT_FOUND,
    TIMES_OUT,
    UNAVAILABLE,
    WANG_FANG,
    ZHANG_WEI,
    PatientUser,
    add_patient,
    audit_details,
    audit_trail,
    count,
    jpeg,
    sms_code_for,
)

URL = "/api/v1/me/real-name"
REVIEWS = "/api/v1/identity-reviews"
ZHANG_WEI_ID = {"name": ZHANG_WEI["name"], "id_number": ZHANG_WEI["id_number"]}


def age_on_today(year: int, month: int, day: int) -> int:
    today = local_today()
    return today.year - year - ((today.month, today.day) < (month, day))


async def real_name_status(session, account_id) -> str:  # type: ignore[no-untyped-def]
    return await session.scalar(select(Account.real_name_status).where(Account.id == account_id))


async def holdings(session, account_id) -> list[tuple[str, uuid.UUID]]:  # type: ignore[no-untyped-def]
    rows = await session.execute(
        select(AccountPatient.relation, AccountPatient.patient_id)
        .where(AccountPatient.account_id == account_id)
        .order_by(AccountPatient.created_at)
    )
    return [(relation, patient_id) for relation, patient_id in rows.all()]


async def patient_row(session, patient_id) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    row = await session.execute(
        select(Patient.name, Patient.phone, Patient.identity_status).where(Patient.id == patient_id)
    )
    return tuple(row.one())


async def submit_review(session, user: PatientUser, *, person=ZHANG_WEI, documents=2) -> uuid.UUID:  # type: ignore[no-untyped-def]
    review = await service.submit_identity_review(
        session,
        user.caller,
        name=person["name"],
        id_number=person["id_number"],
        documents=[(jpeg((40 * n, 30, 30)), f"id-{n}.jpg") for n in range(documents)],
    )
    return review.id


class TestVerifyRealName:
    async def test_it_works(self, client, session, owner):
        response = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 200, response.text
        body = response.json()
        patient_id = uuid.UUID(body.pop("id"))
        assert body == {
            "name": "张*",
            "id_number": "110***********0135",
            "phone": owner.phone[:3] + "****" + owner.phone[-4:],
            "sex": "male",
            "birth_date": "1985-03-12",
            "age": age_on_today(1985, 3, 12),
            "relation": "self",
            "is_default": True,
            "health_card_number": None,
            "identity_status": "verified",
        }
        assert await real_name_status(session, owner.account_id) == "verified"
        assert await holdings(session, owner.account_id) == [("self", patient_id)]
        assert await patient_row(session, patient_id) == ("张伟", owner.phone, "verified")
        assert await session.scalar(select(Patient.identity_verified_at).where(Patient.id == patient_id))
        [details] = await audit_details(session, "account.real_name", patient_id)
        assert details["method"] == "identity_service"
        assert details["reference"].startswith("SBX")
        assert await audit_trail(session, action="account.real_name") == [
            ("account.real_name", "success", str(patient_id))
        ]

    async def test_the_phone_given_is_the_patients_phone(self, client, session, owner):
        response = await client.post(
            URL, headers=owner.headers, json={**ZHANG_WEI_ID, "phone": "13800000001"}
        )

        assert response.status_code == 200
        assert response.json()["phone"] == "138****0001"
        patient_id = uuid.UUID(response.json()["id"])
        assert await patient_row(session, patient_id) == ("张伟", "13800000001", "verified")

    async def test_the_status_endpoint_shows_it(self, client, owner):
        before = await client.get(URL, headers=owner.headers)
        await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)
        after = await client.get(URL, headers=owner.headers)

        assert before.json() == {"status": "unverified", "review": None}
        assert after.json() == {"status": "verified", "review": None}


class TestVerifyRealNameRefusals:
    @pytest.mark.parametrize(
        ("person", "status", "error", "message", "reason"),
        [
            pytest.param(
                MISMATCHED, 400, "identity_mismatch", "姓名与身份证号码不一致，请核对后重试", "mismatched",
                id="mismatched",
            ),
            pytest.param(
                NOT_FOUND, 400, "identity_not_found", "未能在线核验您的身份，请上传身份证照片进行人工审核",
                "not_found", id="not-found",
            ),
            pytest.param(
                TIMES_OUT, 503, "identity_service_unavailable",
                "实名认证服务暂时不可用，请稍后再试，或上传身份证照片进行人工审核", "timeout", id="timeout",
            ),
            pytest.param(
                UNAVAILABLE, 503, "identity_service_unavailable",
                "实名认证服务暂时不可用，请稍后再试，或上传身份证照片进行人工审核", "unavailable",
                id="unavailable",
            ),
        ],
    )  # fmt: skip
    async def test_failure_is_audited_and_changes_nothing(
        self, client, session, owner, person, status, error, message, reason
    ):
        response = await client.post(URL, headers=owner.headers, json=person)

        assert response.status_code == status
        assert response.json() == {"error": error, "message": message}
        assert await real_name_status(session, owner.account_id) == "unverified"
        assert await count(session, Patient) == 0
        assert await count(session, AccountPatient) == 0
        entries = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.result, AuditEntry.actor_id, AuditEntry.details).where(
                    AuditEntry.action == "account.real_name"
                )
            )
        ).all()
        assert [(a, r, actor, d["reason"]) for a, r, actor, d in entries] == [
            ("account.real_name", "failure", owner.account_id, reason)
        ]

    async def test_an_invalid_id_number_never_reaches_the_service(self, client, session, owner):
        response = await client.post(
            URL, headers=owner.headers, json={"name": "张伟", "id_number": "110105198503120136"}
        )

        assert response.status_code == 400
        assert response.json()["error"] == "invalid_id_number"
        assert await audit_trail(session, action="account.real_name") == []

    async def test_already_verified(self, client, session, owner):
        await service.verify_real_name(session, owner.caller, **ZHANG_WEI_ID, phone=None)

        response = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 409
        assert response.json() == {"error": "already_verified", "message": "您已完成实名认证"}

    async def test_pending_review(self, client, session, owner):
        await submit_review(session, owner)

        response = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 409
        assert response.json() == {"error": "review_pending", "message": "您的实名资料正在审核中，请耐心等待"}
        assert await real_name_status(session, owner.account_id) == "pending_review"

    async def test_an_id_number_is_the_self_of_one_account_only(self, client, session, owner, stranger):
        await service.verify_real_name(session, stranger.caller, **ZHANG_WEI_ID, phone=None)

        response = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 409
        assert response.json() == {
            "error": "id_number_bound_elsewhere",
            "message": "该身份证号已被其他账户认证为本人，一个身份证号只能绑定一个账户",
        }
        assert await real_name_status(session, owner.account_id) == "unverified"
        assert await count(session, AccountPatient, AccountPatient.account_id == owner.account_id) == 0

    async def test_another_self_on_the_account_is_kept(self, client, session, owner):
        """A self exists only on a verified account, so a second verification is refused as such."""
        self_id = await add_patient(session, owner, relation="self")

        response = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 409
        assert response.json()["error"] == "already_verified"
        assert await holdings(session, owner.account_id) == [("self", self_id)]
        assert await count(session, Patient) == 1


class TestVerifyAPatientTheHospitalHas:
    async def test_a_family_member_of_the_account_becomes_self(self, client, session, owner):
        patient_id = await add_patient(
            session,
            owner,
            name="张伟",
            id_number=ZHANG_WEI["id_number"],
            phone=owner.phone,
            relation="parent",
        )

        response = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 200, response.text
        assert (response.json()["id"], response.json()["relation"]) == (str(patient_id), "self")
        assert await holdings(session, owner.account_id) == [("self", patient_id)]
        assert await patient_row(session, patient_id) == ("张伟", owner.phone, "verified")
        assert await count(session, Patient) == 1

    async def test_a_patient_held_by_another_account_needs_the_code_to_the_phone_on_record(
        self, client, session, owner, stranger
    ):
        # Knowing a name and its ID number passes the identity check; it must not hand over the records.
        patient_id = await add_patient(
            session, stranger, name="张伟", id_number=ZHANG_WEI["id_number"], phone=ZHANG_WEI["phone"]
        )

        refused = await client.post(URL, headers=owner.headers, json=ZHANG_WEI_ID)

        assert refused.status_code == 409
        assert refused.json()["error"] == "patient_verification_required"
        assert await real_name_status(session, owner.account_id) == "unverified"
        assert await holdings(session, owner.account_id) == []

        code = await sms_code_for(session, ZHANG_WEI["phone"], "bind_patient")
        response = await client.post(URL, headers=owner.headers, json={**ZHANG_WEI_ID, "sms_code": code})

        assert response.status_code == 200, response.text
        assert await holdings(session, owner.account_id) == [("self", patient_id)]
        assert await holdings(session, stranger.account_id) == [("spouse", patient_id)]
        assert await patient_row(session, patient_id) == ("张伟", ZHANG_WEI["phone"], "verified")

    async def test_the_accounts_own_phone_is_proof_enough(self, client, session, make_patient_user, stranger):
        # The account registered with the phone on record (by SMS code): that already proves it.
        zhang_wei = await make_patient_user(phone=ZHANG_WEI["phone"])
        patient_id = await add_patient(
            session, stranger, name="张伟", id_number=ZHANG_WEI["id_number"], phone=ZHANG_WEI["phone"]
        )

        response = await client.post(URL, headers=zhang_wei.headers, json=ZHANG_WEI_ID)

        assert response.status_code == 200, response.text
        assert await holdings(session, zhang_wei.account_id) == [("self", patient_id)]

    async def test_a_code_to_another_phone_does_not_help(self, client, session, owner, stranger):
        await add_patient(
            session, stranger, name="张伟", id_number=ZHANG_WEI["id_number"], phone=ZHANG_WEI["phone"]
        )
        code = await sms_code_for(session, owner.phone, "bind_patient")

        response = await client.post(URL, headers=owner.headers, json={**ZHANG_WEI_ID, "sms_code": code})

        assert (response.status_code, response.json()["error"]) == (400, "sms_code_invalid")
        assert await holdings(session, owner.account_id) == []


class TestSubmitIdentityReview:
    async def test_it_works(self, client, session, owner):
        response = await client.post(
            f"{URL}/review",
            headers=owner.headers,
            data=NOT_FOUND,
            files=[
                ("documents", ("front.jpg", jpeg(), "image/jpeg")),
                ("documents", ("back.jpg", jpeg((30, 30, 200)), "image/jpeg")),
            ],
        )

        assert response.status_code == 201, response.text
        body = response.json()
        review_id = uuid.UUID(body.pop("id"))
        assert body == {
            "account_id": str(owner.account_id),
            "name": "郑*红",
            "id_number": "110***********0513",
            "state": "pending",
            "reason": None,
            "created_at": body["created_at"],
            "reviewed_at": None,
            "document_urls": [],
        }
        assert await real_name_status(session, owner.account_id) == "pending_review"
        file_ids = await session.scalar(
            select(IdentityReview.document_file_ids).where(IdentityReview.id == review_id)
        )
        assert len(file_ids) == 2
        assert await count(session, StoredFile, StoredFile.owner_id == owner.account_id) == 2
        assert await audit_trail(session, action="identity_review.submit") == [
            ("identity_review.submit", "success", str(review_id))
        ]

        status = await client.get(URL, headers=owner.headers)
        assert status.json()["status"] == "pending_review"
        assert status.json()["review"]["id"] == str(review_id)
        assert status.json()["review"]["state"] == "pending"

    @pytest.mark.parametrize("documents", [1, 3])
    async def test_one_to_three_documents(self, client, session, owner, documents):
        files = [("documents", (f"{n}.jpg", jpeg(), "image/jpeg")) for n in range(documents)]
        response = await client.post(f"{URL}/review", headers=owner.headers, data=NOT_FOUND, files=files)
        assert response.status_code == 201, response.text
        assert await count(session, StoredFile) == documents

    async def test_four_documents_are_refused(self, client, session, owner):
        files = [("documents", (f"{n}.jpg", jpeg(), "image/jpeg")) for n in range(4)]

        response = await client.post(f"{URL}/review", headers=owner.headers, data=NOT_FOUND, files=files)

        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_input",
            "message": "请上传1–3张身份证照片（人像面、国徽面）",
        }
        assert await count(session, IdentityReview) == 0
        assert await count(session, StoredFile) == 0
        assert await real_name_status(session, owner.account_id) == "unverified"

    async def test_no_document_is_a_malformed_request(self, client, session, owner):
        response = await client.post(f"{URL}/review", headers=owner.headers, data=NOT_FOUND)
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"
        assert await count(session, IdentityReview) == 0

    async def test_while_one_is_pending_another_is_refused(self, client, session, owner):
        await submit_review(session, owner)
        files = [("documents", ("front.jpg", jpeg(), "image/jpeg"))]

        response = await client.post(f"{URL}/review", headers=owner.headers, data=NOT_FOUND, files=files)

        assert (response.status_code, response.json()["error"]) == (409, "review_pending")
        assert await count(session, IdentityReview) == 1

    async def test_after_a_rejection_the_patient_may_try_again(
        self, client, session, owner, customer_service
    ):
        review_id = await submit_review(session, owner)
        await client.post(
            f"{REVIEWS}/{review_id}/reject", headers=customer_service.headers, json={"reason": "照片模糊"}
        )
        files = [("documents", ("front.jpg", jpeg(), "image/jpeg"))]

        response = await client.post(f"{URL}/review", headers=owner.headers, data=NOT_FOUND, files=files)

        assert response.status_code == 201
        assert await real_name_status(session, owner.account_id) == "pending_review"
        assert await count(session, IdentityReview) == 2


class TestReviewQueue:
    async def test_it_works(self, client, session, owner, stranger, customer_service):
        first = await submit_review(session, owner)
        second = await submit_review(session, stranger, person=WANG_FANG)

        response = await client.get(REVIEWS, headers=customer_service.headers)

        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["page"], body["page_size"]) == (2, 1, 20)
        assert [
            (item["id"], item["name"], item["state"], item["document_urls"]) for item in body["items"]
        ] == [
            (str(first), "张*", "pending", []),
            (str(second), "王*", "pending", []),
        ]

    async def test_decided_reviews_leave_the_pending_queue(
        self, client, session, owner, stranger, customer_service
    ):
        decided = await submit_review(session, owner)
        pending = await submit_review(session, stranger, person=WANG_FANG)
        await client.post(
            f"{REVIEWS}/{decided}/reject", headers=customer_service.headers, json={"reason": "照片模糊"}
        )

        queue = await client.get(REVIEWS, headers=customer_service.headers)
        rejected = await client.get(REVIEWS, headers=customer_service.headers, params={"state": "rejected"})

        assert [item["id"] for item in queue.json()["items"]] == [str(pending)]
        assert [item["id"] for item in rejected.json()["items"]] == [str(decided)]


class TestReviewDetail:
    async def test_it_works(self, client, session, owner, customer_service):
        review_id = await submit_review(session, owner, documents=2)

        response = await client.get(f"{REVIEWS}/{review_id}", headers=customer_service.headers)

        assert response.status_code == 200
        body = response.json()
        # The reviewer compares the photos with the full name and number; the look is audited below.
        assert (body["name"], body["id_number"], body["state"]) == ("张伟", "110105198503120135", "pending")
        assert len(body["document_urls"]) == 2
        for url in body["document_urls"]:
            document = await client.get(url)
            assert document.status_code == 200
            assert document.headers["content-type"] == "image/jpeg"
            assert Image.open(io.BytesIO(document.content)).size == (40, 24)
        assert await audit_trail(session, action="identity_review.view") == [
            ("identity_review.view", "success", str(review_id))
        ]
        assert await audit_details(session, "identity_review.view", review_id) == [
            {"id_number": "110***********0135"}
        ]

    async def test_a_tampered_link_is_refused(self, client, session, owner, customer_service):
        review_id = await submit_review(session, owner, documents=1)
        response = await client.get(f"{REVIEWS}/{review_id}", headers=customer_service.headers)
        [url] = response.json()["document_urls"]

        tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
        document = await client.get(tampered)

        assert document.status_code == 403

    async def test_unknown_review(self, client, customer_service):
        response = await client.get(f"{REVIEWS}/{uuid.uuid4()}", headers=customer_service.headers)
        assert response.status_code == 404
        assert response.json() == {"error": "review_not_found", "message": "审核记录不存在"}


class TestApproveReview:
    async def test_it_works(self, client, session, owner, customer_service):
        review_id = await submit_review(session, owner)

        response = await client.post(f"{REVIEWS}/{review_id}/approve", headers=customer_service.headers)

        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["reason"]) == ("approved", None)
        assert response.json()["reviewed_at"] is not None
        assert await real_name_status(session, owner.account_id) == "verified"
        [(relation, patient_id)] = await holdings(session, owner.account_id)
        assert relation == "self"
        assert await patient_row(session, patient_id) == ("张伟", owner.phone, "verified")
        reviewer = await session.scalar(
            select(IdentityReview.reviewer_id).where(IdentityReview.id == review_id)
        )
        assert reviewer == customer_service.staff_id
        assert await audit_trail(session, action="identity_review.approve") == [
            ("identity_review.approve", "success", str(review_id))
        ]
        status = await client.get(URL, headers=owner.headers)
        assert (status.json()["status"], status.json()["review"]["state"]) == ("verified", "approved")

    async def test_staff_who_saw_the_documents_may_bind_a_patient_held_elsewhere(
        self, client, session, owner, stranger, customer_service
    ):
        patient_id = await add_patient(
            session, stranger, name="张伟", id_number=ZHANG_WEI["id_number"], phone=ZHANG_WEI["phone"]
        )
        review_id = await submit_review(session, owner)

        response = await client.post(f"{REVIEWS}/{review_id}/approve", headers=customer_service.headers)

        assert response.status_code == 200, response.text
        assert await holdings(session, owner.account_id) == [("self", patient_id)]

    async def test_an_id_number_bound_elsewhere_cannot_be_approved(
        self, client, session, owner, stranger, customer_service
    ):
        review_id = await submit_review(session, owner)
        await service.verify_real_name(session, stranger.caller, **ZHANG_WEI_ID, phone=None)

        response = await client.post(f"{REVIEWS}/{review_id}/approve", headers=customer_service.headers)

        assert (response.status_code, response.json()["error"]) == (409, "id_number_bound_elsewhere")
        assert (
            await session.scalar(select(IdentityReview.state).where(IdentityReview.id == review_id))
            == "pending"
        )
        assert await real_name_status(session, owner.account_id) == "pending_review"


class TestRejectReview:
    async def test_it_works(self, client, session, owner, customer_service):
        review_id = await submit_review(session, owner)

        response = await client.post(
            f"{REVIEWS}/{review_id}/reject",
            headers=customer_service.headers,
            json={"reason": "照片模糊，请重新拍摄"},
        )

        assert response.status_code == 200
        assert (response.json()["state"], response.json()["reason"]) == ("rejected", "照片模糊，请重新拍摄")
        assert await real_name_status(session, owner.account_id) == "rejected"
        assert await count(session, AccountPatient) == 0
        status = await client.get(URL, headers=owner.headers)
        assert status.json()["status"] == "rejected"
        assert (status.json()["review"]["state"], status.json()["review"]["reason"]) == (
            "rejected",
            "照片模糊，请重新拍摄",
        )
        assert await audit_details(session, "identity_review.reject", review_id) == [
            {"reason": "照片模糊，请重新拍摄"}
        ]

    async def test_a_reason_is_required(self, client, session, owner, customer_service):
        review_id = await submit_review(session, owner)
        response = await client.post(
            f"{REVIEWS}/{review_id}/reject", headers=customer_service.headers, json={}
        )
        assert (response.status_code, response.json()["error"]) == (422, "invalid_request")
        assert (
            await session.scalar(select(IdentityReview.state).where(IdentityReview.id == review_id))
            == "pending"
        )


class TestReviewOnce:
    @pytest.mark.parametrize(
        ("first", "second"),
        [("approve", "reject"), ("reject", "approve"), ("approve", "approve"), ("reject", "reject")],
    )
    async def test_a_decided_review_cannot_be_decided_again(
        self, client, session, owner, customer_service, first, second
    ):
        review_id = await submit_review(session, owner)
        reason = {"reason": "照片模糊"}
        done = await client.post(
            f"{REVIEWS}/{review_id}/{first}", headers=customer_service.headers, json=reason
        )
        assert done.status_code == 200

        again = await client.post(
            f"{REVIEWS}/{review_id}/{second}", headers=customer_service.headers, json=reason
        )

        assert again.status_code == 409
        assert again.json() == {"error": "review_already_decided", "message": "该审核已处理"}
        state = await session.scalar(select(IdentityReview.state).where(IdentityReview.id == review_id))
        assert state == {"approve": "approved", "reject": "rejected"}[first]
        assert (
            await real_name_status(session, owner.account_id)
            == {"approve": "verified", "reject": "rejected"}[first]
        )
