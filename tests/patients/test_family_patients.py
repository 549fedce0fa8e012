"""/api/v1/me/patients: a patient account's family patients (家庭就诊人)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.auth import consents
from ihos.backoffice.rules import set_rule
from ihos.kit.idcard import check_digit
from ihos.kit.time import clock, local_today
from ihos.models.accounts import Consent
from ihos.models.patients import AccountPatient, Patient
from ihos.patients import service
from tests.factories import Org
from tests.patients.helpers import (
    add_patient,
    audit_details,
    audit_trail,
    count,
    inbox_texts,
    patient_payload,
    sms_code_for,
)

URL = "/api/v1/me/patients"
# 张小三, born 1990-03-07, male (17th digit odd).
ID_NUMBER = "110105199003071239"
PHONE = "13812341234"


def age_on_today(year: int, month: int, day: int) -> int:
    today = local_today()
    return today.year - year - ((today.month, today.day) < (month, day))


def id_number_born(day) -> str:  # type: ignore[no-untyped-def]
    first17 = f"110105{day:%Y%m%d}123"
    return first17 + check_digit(first17)


async def holdings(session, account_id) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    rows = await session.execute(
        select(AccountPatient.relation, AccountPatient.is_default)
        .where(AccountPatient.account_id == account_id)
        .order_by(AccountPatient.created_at)
    )
    return [(relation, is_default) for relation, is_default in rows.all()]


class TestAddPatient:
    async def test_it_works(self, client, session, owner):
        response = await client.post(
            URL,
            headers=owner.headers,
            json={"name": "张小三", "id_number": ID_NUMBER, "phone": PHONE, "relation": "spouse"},
        )

        assert response.status_code == 201, response.text
        body = response.json()
        patient_id = uuid.UUID(body.pop("id"))
        assert body == {
            "name": "张*三",
            "id_number": "110***********1239",
            "phone": "138****1234",
            "sex": "male",
            "birth_date": "1990-03-07",
            "age": age_on_today(1990, 3, 7),
            "relation": "spouse",
            "is_default": True,
            "health_card_number": None,
            "identity_status": "unverified",
        }
        patient = (await session.execute(select(Patient).where(Patient.id == patient_id))).scalar_one()
        assert (patient.name, patient.id_number, patient.phone, patient.sex, str(patient.birth_date)) == (
            "张小三",
            ID_NUMBER,
            PHONE,
            "male",
            "1990-03-07",
        )
        assert await holdings(session, owner.account_id) == [("spouse", True)]
        assert await audit_trail(session, actor_id=owner.account_id, action="patient.add") == [
            ("patient.add", "success", str(patient_id))
        ]
        assert await audit_details(session, "patient.add", patient_id) == [
            {"relation": "spouse", "name": "张*三", "guardian_consent": False}
        ]

    async def test_sex_and_birth_date_come_from_the_id_number(self, client, owner):
        # 17th digit even: female.
        response = await client.post(
            URL, headers=owner.headers, json=patient_payload(name="李四", id_number="310104199208152025")
        )
        assert response.status_code == 201, response.text
        assert (response.json()["sex"], response.json()["birth_date"]) == ("female", "1992-08-15")
        assert response.json()["name"] == "李*"

    async def test_only_the_first_patient_becomes_default(self, client, session, owner):
        first = await client.post(URL, headers=owner.headers, json=patient_payload(relation="spouse"))
        clock.travel(timedelta(seconds=1))
        second = await client.post(URL, headers=owner.headers, json=patient_payload(relation="parent"))

        assert (first.status_code, second.status_code) == (201, 201)
        assert (first.json()["is_default"], second.json()["is_default"]) == (True, False)
        assert await holdings(session, owner.account_id) == [("spouse", True), ("parent", False)]

    async def test_list_shows_the_accounts_patients_masked(self, client, session, owner, stranger):
        await add_patient(session, owner, name="张小三", id_number=ID_NUMBER, phone=PHONE, relation="self")
        clock.travel(timedelta(seconds=1))
        await add_patient(session, owner, name="欧阳小明", relation="child")
        await add_patient(session, stranger, relation="self")

        response = await client.get(URL, headers=owner.headers)

        assert response.status_code == 200
        assert [(p["name"], p["relation"], p["is_default"]) for p in response.json()] == [
            ("张*三", "self", True),
            ("欧**明", "child", False),
        ]
        assert response.json()[0]["id_number"] == "110***********1239"
        assert response.json()[0]["phone"] == "138****1234"


BAD_PAYLOADS = [
    pytest.param(
        {"id_number": "110105199003071238"},
        400,
        {"error": "invalid_id_number", "message": "身份证号码校验位不正确，请核对后重新输入"},
        id="wrong-check-digit",
    ),
    pytest.param(
        {"id_number": "110105199002301231"},  # 30 February, with a right check digit
        400,
        {"error": "invalid_id_number", "message": "身份证号码中的出生日期不正确"},
        id="impossible-birth-date",
    ),
    pytest.param(
        {"id_number": "110105210001011237"},  # born in 2100
        400,
        {"error": "invalid_id_number", "message": "身份证号码中的出生日期不正确"},
        id="future-birth-date",
    ),
    pytest.param(
        {"id_number": "11010519900307123"},
        400,
        {"error": "invalid_id_number", "message": "身份证号码应为18位"},
        id="17-characters",
    ),
    pytest.param(
        {"phone": "12812341234"},
        400,
        {"error": "invalid_phone", "message": "请输入正确的11位手机号码"},
        id="not-a-mobile-number",
    ),
    pytest.param(
        {"relation": "cousin"},
        400,
        {"error": "invalid_relation", "message": "与本人关系不正确"},
        id="unknown-relation",
    ),
]


class TestAddPatientRefusals:
    @pytest.mark.parametrize(("changes", "status", "error"), BAD_PAYLOADS)
    async def test_refusal_changes_nothing(self, client, session, owner, changes, status, error):
        response = await client.post(URL, headers=owner.headers, json=patient_payload(**changes))

        assert response.status_code == status
        assert response.json() == error
        assert await count(session, Patient) == 0
        assert await count(session, AccountPatient) == 0
        assert await audit_trail(session, action="patient.add") == []

    async def test_unknown_field_is_a_malformed_payload(self, client, session, owner):
        response = await client.post(URL, headers=owner.headers, json=patient_payload(nickname="小三"))

        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"
        assert response.json()["details"] == [
            {"field": "nickname", "problem": "不认识的字段", "type": "extra_forbidden"}
        ]
        assert await count(session, Patient) == 0

    async def test_oversized_name_is_a_malformed_payload(self, client, session, owner):
        response = await client.post(URL, headers=owner.headers, json=patient_payload(name="张" * 51))

        assert response.status_code == 422
        assert response.json()["details"] == [
            {"field": "name", "problem": "内容过长", "type": "string_too_long"}
        ]
        assert await count(session, Patient) == 0

    async def test_self_comes_only_from_real_name_verification(self, client, session, owner):
        response = await client.post(URL, headers=owner.headers, json=patient_payload(relation="self"))

        assert response.status_code == 400
        assert response.json() == {"error": "self_needs_real_name", "message": "本人信息请通过实名认证添加"}
        assert await count(session, Patient) == 0

    async def test_the_family_cap_is_five_by_default(self, client, session, owner):
        for _ in range(5):
            await add_patient(session, owner, relation="child")

        response = await client.post(URL, headers=owner.headers, json=patient_payload())

        assert response.status_code == 409
        assert response.json() == {"error": "too_many_patients", "message": "就诊人数量已达上限"}
        assert await count(session, Patient) == 5
        assert await count(session, AccountPatient) == 5

    async def test_the_family_cap_follows_the_rule(self, client, session, owner, org: Org):
        await set_rule(session, org.admin, "patients.max_family_patients", 2)
        await add_patient(session, owner)

        second = await client.post(URL, headers=owner.headers, json=patient_payload())
        third = await client.post(URL, headers=owner.headers, json=patient_payload())

        assert second.status_code == 201
        assert (third.status_code, third.json()["error"]) == (409, "too_many_patients")
        assert await count(session, AccountPatient) == 2


class TestGuardianConsent:
    async def test_it_works(self, client, session, owner):
        today = local_today()
        child = id_number_born(today.replace(year=today.year - 10))

        response = await client.post(
            URL,
            headers=owner.headers,
            json=patient_payload(name="张子涵", id_number=child, relation="child", guardian_consent=True),
        )

        assert response.status_code == 201, response.text
        patient_id = uuid.UUID(response.json()["id"])
        assert response.json()["age"] == 10
        rows = await session.execute(
            select(Consent.document, Consent.version, Consent.account_id).where(
                Consent.patient_id == patient_id
            )
        )
        assert [tuple(row) for row in rows.all()] == [
            ("guardian", consents.current_version("guardian"), owner.account_id)
        ]
        assert await audit_details(session, "patient.add", patient_id) == [
            {"relation": "child", "name": "张*涵", "guardian_consent": True}
        ]

    async def test_under_14_without_consent_is_refused(self, client, session, owner):
        today = local_today()
        child = id_number_born(today.replace(year=today.year - 10))

        response = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=child, relation="child")
        )

        assert response.status_code == 400
        assert response.json() == {
            "error": "guardian_consent_required",
            "message": "就诊人未满14周岁，须由监护人阅读并同意《监护人同意书》",
        }
        assert await count(session, Patient) == 0
        assert await count(session, AccountPatient) == 0
        assert await count(session, Consent, Consent.document == "guardian") == 0

    async def test_the_day_before_the_14th_birthday_still_needs_consent(self, client, session, owner):
        today = local_today()
        turns_14_tomorrow = id_number_born(today.replace(year=today.year - 14) + timedelta(days=1))
        turned_14_today = id_number_born(today.replace(year=today.year - 14))

        refused = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=turns_14_tomorrow, relation="child")
        )
        accepted = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=turned_14_today, relation="child")
        )

        assert (refused.status_code, refused.json()["error"]) == (400, "guardian_consent_required")
        assert (accepted.status_code, accepted.json()["age"]) == (201, 14)
        assert await count(session, Consent, Consent.document == "guardian") == 0


class TestPersonHeldByAnotherAccount:
    """The same person added by a second account: one Patient, proven by a code to the phone on record."""

    @pytest.fixture
    async def patient_id(self, session, stranger) -> uuid.UUID:
        return await add_patient(session, stranger, name="李小四", id_number=ID_NUMBER, phone=PHONE)

    async def test_it_works(self, client, session, owner, stranger, patient_id, send_sms):
        sent = await client.post(
            "/api/v1/auth/sms-codes", headers=owner.headers, json={"phone": PHONE, "purpose": "bind_patient"}
        )
        assert sent.status_code == 202, sent.text
        assert await send_sms() == 1
        [text] = await inbox_texts(session, PHONE)
        match = re.search(r"验证码为(\d{6})", text)
        assert match is not None, text

        response = await client.post(
            URL,
            headers=owner.headers,
            json={
                "name": "李小四",
                "id_number": ID_NUMBER,
                "phone": PHONE,
                "relation": "parent",
                "sms_code": match[1],
            },
        )

        assert response.status_code == 201, response.text
        assert response.json()["id"] == str(patient_id)
        assert (response.json()["relation"], response.json()["is_default"]) == ("parent", True)
        assert await count(session, Patient) == 1
        rows = await session.execute(
            select(AccountPatient.account_id, AccountPatient.relation).order_by(AccountPatient.created_at)
        )
        assert [tuple(row) for row in rows.all()] == [
            (stranger.account_id, "spouse"),
            (owner.account_id, "parent"),
        ]

    @pytest.mark.parametrize(
        "changes",
        [
            pytest.param({"name": "李小五"}, id="name-mismatch"),
            pytest.param({"phone": "13912341234"}, id="phone-mismatch"),
            pytest.param({}, id="no-sms-code"),
        ],
    )
    async def test_without_proof_it_is_refused_alike(self, client, session, owner, patient_id, changes):
        payload = {"name": "李小四", "id_number": ID_NUMBER, "phone": PHONE, "relation": "parent"}

        response = await client.post(URL, headers=owner.headers, json={**payload, **changes})

        # The same answer whatever is wrong: nobody learns a patient's name or phone on record this way.
        assert response.status_code == 409
        assert response.json() == {
            "error": "patient_verification_required",
            "message": "该就诊人已在医院登记，请核对姓名和手机号，并获取发送到其登记手机号的验证码后再添加",
        }
        assert await count(session, Patient) == 1
        assert await count(session, AccountPatient, AccountPatient.account_id == owner.account_id) == 0

    async def test_a_code_does_not_help_with_the_wrong_name(self, client, session, owner, patient_id):
        code = await sms_code_for(session, PHONE, "bind_patient")
        payload = {"name": "李小五", "id_number": ID_NUMBER, "phone": PHONE, "relation": "parent"}

        response = await client.post(URL, headers=owner.headers, json={**payload, "sms_code": code})

        assert (response.status_code, response.json()["error"]) == (409, "patient_verification_required")
        assert await count(session, AccountPatient, AccountPatient.account_id == owner.account_id) == 0

    async def test_a_wrong_code_is_refused(self, client, session, owner, patient_id):
        code = await sms_code_for(session, PHONE, "bind_patient")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        payload = {"name": "李小四", "id_number": ID_NUMBER, "phone": PHONE, "relation": "parent"}

        response = await client.post(URL, headers=owner.headers, json={**payload, "sms_code": wrong})

        assert response.status_code == 400
        assert response.json() == {"error": "sms_code_wrong", "message": "验证码不正确，还可以再试 4 次"}
        assert await count(session, AccountPatient, AccountPatient.account_id == owner.account_id) == 0

    async def test_a_code_for_another_purpose_is_refused(self, client, session, owner, patient_id):
        code = await sms_code_for(session, PHONE, "sign_in")
        payload = {"name": "李小四", "id_number": ID_NUMBER, "phone": PHONE, "relation": "parent"}

        response = await client.post(URL, headers=owner.headers, json={**payload, "sms_code": code})

        assert (response.status_code, response.json()["error"]) == (400, "sms_code_invalid")
        assert await count(session, AccountPatient) == 1

    async def test_adding_someone_already_on_the_list_is_refused(self, client, session, stranger, patient_id):
        payload = {"name": "李小四", "id_number": ID_NUMBER, "phone": PHONE, "relation": "parent"}

        response = await client.post(URL, headers=stranger.headers, json=payload)

        assert response.status_code == 409
        assert response.json() == {
            "error": "patient_already_added",
            "message": "该就诊人已在您的就诊人列表中",
        }
        assert await count(session, AccountPatient) == 1


class TestUpdatePatient:
    async def test_it_works(self, client, session, owner):
        patient_id = await add_patient(session, owner, name="张小三", id_number=ID_NUMBER, relation="parent")

        response = await client.patch(
            f"{URL}/{patient_id}",
            headers=owner.headers,
            json={"phone": "13987654321", "relation": "grandparent", "health_card_number": "HC0001"},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["phone"], body["relation"], body["health_card_number"]) == (
            "139****4321",
            "grandparent",
            "HC0001",
        )
        assert (body["name"], body["id_number"]) == ("张*三", "110***********1239")
        row = (
            await session.execute(
                select(Patient.phone, Patient.health_card_number).where(Patient.id == patient_id)
            )
        ).one()
        assert tuple(row) == ("13987654321", "HC0001")
        assert await holdings(session, owner.account_id) == [("grandparent", True)]
        assert await audit_details(session, "patient.update", patient_id) == [
            {"fields": ["phone", "relation", "health_card_number"]}
        ]

    @pytest.mark.parametrize("field", ["name", "id_number"])
    async def test_name_and_id_number_cannot_change(self, client, session, owner, field):
        patient_id = await add_patient(session, owner, name="张小三", id_number=ID_NUMBER)
        value = {"name": "张小四", "id_number": "110105199003071247"}[field]

        response = await client.patch(f"{URL}/{patient_id}", headers=owner.headers, json={field: value})

        assert response.status_code == 422
        assert response.json()["details"] == [
            {"field": field, "problem": "不认识的字段", "type": "extra_forbidden"}
        ]
        row = (
            await session.execute(select(Patient.name, Patient.id_number).where(Patient.id == patient_id))
        ).one()
        assert tuple(row) == ("张小三", ID_NUMBER)

    @pytest.mark.parametrize(
        ("start", "relation", "message"),
        [
            pytest.param("parent", "self", "本人关系不能修改", id="to-self"),
            pytest.param("self", "parent", "本人关系不能修改", id="from-self"),
            pytest.param("parent", "cousin", "与本人关系不正确", id="unknown"),
        ],
    )
    async def test_relation_refusals(self, client, session, owner, start, relation, message):
        patient_id = await add_patient(session, owner, relation=start)

        response = await client.patch(
            f"{URL}/{patient_id}", headers=owner.headers, json={"relation": relation}
        )

        assert response.status_code == 400
        assert response.json() == {"error": "invalid_relation", "message": message}
        assert await holdings(session, owner.account_id) == [(start, True)]

    async def test_malformed_phone_is_refused(self, client, session, owner):
        patient_id = await add_patient(session, owner, phone=PHONE)

        response = await client.patch(
            f"{URL}/{patient_id}", headers=owner.headers, json={"phone": "12812341234"}
        )

        assert (response.status_code, response.json()["error"]) == (400, "invalid_phone")
        assert await session.scalar(select(Patient.phone).where(Patient.id == patient_id)) == PHONE

    async def test_a_shared_patients_phone_is_only_changed_by_the_self(
        self, client, session, owner, stranger
    ):
        patient_id = await add_patient(session, stranger, name="李小四", id_number=ID_NUMBER, phone=PHONE)
        code = await sms_code_for(session, PHONE, "bind_patient")
        await service.add_patient(
            session,
            owner.caller,
            name="李小四",
            id_number=ID_NUMBER,
            phone=PHONE,
            relation="parent",
            sms_code=code,
        )

        response = await client.patch(
            f"{URL}/{patient_id}", headers=owner.headers, json={"phone": "13987654321"}
        )

        assert response.status_code == 403
        assert response.json() == {
            "error": "shared_patient",
            "message": "该就诊人由多个账户共同管理，只能由本人修改手机号",
        }
        assert await session.scalar(select(Patient.phone).where(Patient.id == patient_id)) == PHONE


class TestRemovePatient:
    async def test_it_works(self, client, session, owner):
        patient_id = await add_patient(session, owner, relation="parent")

        response = await client.delete(f"{URL}/{patient_id}", headers=owner.headers)

        assert response.status_code == 204
        assert await count(session, AccountPatient) == 0
        # The person's records stay with the hospital.
        assert await count(session, Patient, Patient.id == patient_id) == 1
        assert await audit_trail(session, action="patient.remove") == [
            ("patient.remove", "success", str(patient_id))
        ]

    async def test_self_cannot_be_removed(self, client, session, owner):
        patient_id = await add_patient(session, owner, relation="self")

        response = await client.delete(f"{URL}/{patient_id}", headers=owner.headers)

        assert response.status_code == 409
        assert response.json() == {"error": "self_cannot_be_removed", "message": "本人信息不能删除"}
        assert await holdings(session, owner.account_id) == [("self", True)]

    async def test_default_moves_to_the_oldest_remaining_patient(self, client, session, owner):
        first_id = await add_patient(session, owner, relation="spouse")
        clock.travel(timedelta(seconds=1))
        await add_patient(session, owner, relation="child")
        clock.travel(timedelta(seconds=1))
        await add_patient(session, owner, relation="parent")

        response = await client.delete(f"{URL}/{first_id}", headers=owner.headers)

        assert response.status_code == 204
        assert await holdings(session, owner.account_id) == [("child", True), ("parent", False)]

    async def test_removing_the_only_patient_leaves_no_default(self, client, session, owner):
        patient_id = await add_patient(session, owner)
        response = await client.delete(f"{URL}/{patient_id}", headers=owner.headers)
        assert response.status_code == 204
        assert await holdings(session, owner.account_id) == []


class TestSetDefaultPatient:
    async def test_it_works(self, client, session, owner):
        await add_patient(session, owner, relation="spouse")
        clock.travel(timedelta(seconds=1))
        second_id = await add_patient(session, owner, relation="child")

        response = await client.post(f"{URL}/{second_id}/default", headers=owner.headers)

        assert response.status_code == 200
        assert (response.json()["id"], response.json()["is_default"]) == (str(second_id), True)
        assert await holdings(session, owner.account_id) == [("spouse", False), ("child", True)]
        assert await audit_trail(session, action="patient.set_default") == [
            ("patient.set_default", "success", str(second_id))
        ]

    async def test_another_accounts_default_is_untouched(self, client, session, owner, stranger):
        await add_patient(session, stranger)
        mine_id = await add_patient(session, owner)

        response = await client.post(f"{URL}/{mine_id}/default", headers=owner.headers)

        assert response.status_code == 200
        assert await holdings(session, stranger.account_id) == [("spouse", True)]


class TestUnmaskOwnPatient:
    async def test_it_works(self, client, session, owner):
        patient_id = await add_patient(session, owner, name="张小三", id_number=ID_NUMBER, phone=PHONE)

        response = await client.post(f"{URL}/{patient_id}/unmask", headers=owner.headers)

        assert response.status_code == 200
        assert response.json() == {
            "id": str(patient_id),
            "name": "张小三",
            "id_number": ID_NUMBER,
            "phone": PHONE,
        }
        assert await audit_trail(session, action="patient.unmask", actor_id=owner.account_id) == [
            ("patient.unmask", "success", str(patient_id))
        ]
