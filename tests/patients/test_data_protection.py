"""Personal data at rest and on the wire: ID numbers and phones are stored encrypted with a keyed blind
index, and the family-patient endpoints only ever send them masked (the unmask endpoint aside)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from ihos.models.base import Base
from ihos.security.fields import blind_index, decrypt_field
from tests.patients.helpers import patient_payload, sms_code_for

URL = "/api/v1/me/patients"
ID_NUMBER = "110105199003071239"
PHONE = "13812341234"
NEW_PHONE = "13987654321"


async def raw_rows(session, table: str) -> list[tuple]:  # type: ignore[no-untyped-def, type-arg]
    return [tuple(row) for row in (await session.execute(text(f"SELECT * FROM {table}"))).all()]  # noqa: S608


class TestAtRest:
    async def test_it_works(self, client, session, owner):
        response = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=ID_NUMBER, phone=PHONE)
        )
        assert response.status_code == 201

        [(id_number, phone)] = (await session.execute(text("SELECT id_number, phone FROM patients"))).all()

        assert ID_NUMBER not in id_number
        assert PHONE not in phone
        assert id_number.startswith("v1.") and phone.startswith("v1.")
        assert (decrypt_field(id_number), decrypt_field(phone)) == (ID_NUMBER, PHONE)

    async def test_blind_indexes_are_keyed_hashes(self, client, session, owner):
        await client.post(URL, headers=owner.headers, json=patient_payload(id_number=ID_NUMBER, phone=PHONE))

        [(id_index, phone_index)] = (
            await session.execute(text("SELECT id_number_index, phone_index FROM patients"))
        ).all()

        assert (id_index, phone_index) == (
            blind_index(ID_NUMBER, kind="id_number"),
            blind_index(PHONE, kind="phone"),
        )
        for value, index in ((ID_NUMBER, id_index), (PHONE, phone_index)):
            assert value not in index
            # Not a plain digest either: ID numbers and phones are few enough to hash them all.
            assert index not in {
                hashlib.sha256(value.encode()).hexdigest(),
                hashlib.md5(value.encode(), usedforsecurity=False).hexdigest(),
            }

    async def test_no_table_holds_them_in_clear(self, client, session, owner, stranger):
        """After everything the family-patient endpoints do, no column of any table holds either value."""
        created = await client.post(
            URL,
            headers=owner.headers,
            json=patient_payload(id_number=ID_NUMBER, phone=PHONE, relation="parent"),
        )
        patient_id = created.json()["id"]
        code = await sms_code_for(session, PHONE, "bind_patient")
        payload = patient_payload(id_number=ID_NUMBER, phone=PHONE, relation="child", sms_code=code)
        statuses = [
            created.status_code,
            (await client.post(URL, headers=stranger.headers, json=payload)).status_code,
            (
                await client.patch(
                    f"{URL}/{patient_id}", headers=stranger.headers, json={"health_card_number": "H1"}
                )
            ).status_code,
            (await client.post(f"{URL}/{patient_id}/unmask", headers=owner.headers)).status_code,
            (await client.post(f"{URL}/{patient_id}/default", headers=owner.headers)).status_code,
            (await client.delete(f"{URL}/{patient_id}", headers=stranger.headers)).status_code,
        ]
        assert statuses == [201, 201, 200, 200, 200, 204]

        for table in Base.metadata.sorted_tables:
            for row in await raw_rows(session, table.name):
                assert ID_NUMBER not in str(row), table.name
                assert PHONE not in str(row), table.name


class TestOnTheWire:
    async def test_it_works(self, client, session, owner):
        """Every answer of the family-patient endpoints, success or refusal, is free of both values."""
        responses = []
        created = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=ID_NUMBER, phone=PHONE)
        )
        assert created.status_code == 201
        patient_id = created.json()["id"]
        responses.append(created)
        responses.append(await client.get(URL, headers=owner.headers))
        responses.append(
            await client.patch(f"{URL}/{patient_id}", headers=owner.headers, json={"phone": NEW_PHONE})
        )
        responses.append(await client.post(f"{URL}/{patient_id}/default", headers=owner.headers))
        responses.append(await client.get(URL, headers=owner.headers))
        assert [r.status_code for r in responses] == [201, 200, 200, 200, 200]

        for response in responses:
            for value in (ID_NUMBER, PHONE, NEW_PHONE):
                assert value not in response.text

    @pytest.mark.parametrize(
        ("changes", "status"),
        [
            pytest.param({"id_number": "110105199003071238"}, 400, id="wrong-check-digit"),
            pytest.param({"phone": "12812341234"}, 400, id="not-a-mobile-number"),
            pytest.param({"phone": "138123412341381234123"}, 422, id="oversized-phone"),
            pytest.param({"id_number": "110105199003071239000"}, 422, id="oversized-id-number"),
            pytest.param({"relation": "self", "nickname": "110105199003071239"}, 422, id="unknown-field"),
        ],
    )
    async def test_refusals_do_not_echo_them(self, client, owner, changes, status):
        payload = patient_payload(**changes)

        response = await client.post(URL, headers=owner.headers, json=payload)

        assert response.status_code == status
        for value in (payload["id_number"], payload["phone"], "110105199003071239"):
            assert value not in response.text

    async def test_a_person_held_elsewhere_is_not_echoed(self, client, session, owner, stranger):
        await client.post(
            URL, headers=stranger.headers, json=patient_payload(id_number=ID_NUMBER, phone=PHONE)
        )

        response = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=ID_NUMBER, phone=PHONE)
        )

        assert (response.status_code, response.json()["error"]) == (409, "patient_verification_required")
        assert ID_NUMBER not in response.text
        assert PHONE not in response.text

    async def test_only_unmask_shows_them(self, client, owner):
        created = await client.post(
            URL, headers=owner.headers, json=patient_payload(id_number=ID_NUMBER, phone=PHONE)
        )

        unmasked = await client.post(f"{URL}/{created.json()['id']}/unmask", headers=owner.headers)

        assert (unmasked.json()["id_number"], unmasked.json()["phone"]) == (ID_NUMBER, PHONE)
