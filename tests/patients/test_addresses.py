"""/api/v1/me/addresses: delivery addresses (收货地址) of a patient account."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ihos.kit.time import clock
from ihos.models.patients import Address
from ihos.patients import service
from tests.patients.helpers import PatientUser, audit_trail, count

URL = "/api/v1/me/addresses"


def address_payload(**changes: Any) -> dict[str, Any]:
    payload = {
        "recipient": "张小三",
        "phone": "13812341234",
        "province": "北京市",
        "city": "北京市",
        "district": "朝阳区",
        "detail": "建国路88号1号楼101室",
    }
    payload.update(changes)
    return payload


async def add_address(session, user: PatientUser, **changes: Any) -> uuid.UUID:  # type: ignore[no-untyped-def]
    payload = {"is_default": False, **address_payload(**changes)}
    address = await service.add_address(session, user.caller, **payload)
    clock.travel(timedelta(seconds=1))  # created_at orders the list
    return address.id


async def stored(session, account_id) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """(recipient, detail, is_default) of the account's addresses, oldest first."""
    rows = await session.execute(
        select(Address.recipient, Address.detail, Address.is_default)
        .where(Address.account_id == account_id)
        .order_by(Address.created_at)
    )
    return [(recipient, detail, is_default) for recipient, detail, is_default in rows.all()]


class TestAddAddress:
    async def test_it_works(self, client, session, owner):
        response = await client.post(URL, headers=owner.headers, json=address_payload())

        assert response.status_code == 201, response.text
        body = response.json()
        address_id = body.pop("id")
        assert body == {
            "recipient": "张*三",
            "phone": "138****1234",
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
            "detail": "建国路88号1号楼101室",
            "is_default": True,
        }
        phone = await session.scalar(select(Address.phone).where(Address.id == uuid.UUID(address_id)))
        assert phone == "13812341234"
        assert await audit_trail(session, action="address.add") == [("address.add", "success", address_id)]

    async def test_the_phone_is_normalised(self, client, session, owner):
        response = await client.post(
            URL, headers=owner.headers, json=address_payload(phone="+86 138-1234-1234")
        )
        assert response.status_code == 201
        address_id = uuid.UUID(response.json()["id"])
        assert await session.scalar(select(Address.phone).where(Address.id == address_id)) == "13812341234"

    async def test_a_second_address_is_not_default_unless_asked(self, client, session, owner):
        await add_address(session, owner, detail="一号")

        plain = await client.post(URL, headers=owner.headers, json=address_payload(detail="二号"))
        clock.travel(timedelta(seconds=1))
        chosen = await client.post(
            URL, headers=owner.headers, json=address_payload(detail="三号", is_default=True)
        )

        assert (plain.json()["is_default"], chosen.json()["is_default"]) == (False, True)
        assert await stored(session, owner.account_id) == [
            ("张小三", "一号", False),
            ("张小三", "二号", False),
            ("张小三", "三号", True),
        ]

    @pytest.mark.parametrize(
        ("changes", "status", "error"),
        [
            pytest.param({"phone": "12812341234"}, 400, "invalid_phone", id="not-a-mobile-number"),
            pytest.param({"detail": ""}, 422, "invalid_request", id="empty-detail"),
            pytest.param({"detail": "号" * 201}, 422, "invalid_request", id="oversized-detail"),
            pytest.param({"floor": "3"}, 422, "invalid_request", id="unknown-field"),
        ],
    )
    async def test_refusal_changes_nothing(self, client, session, owner, changes, status, error):
        response = await client.post(URL, headers=owner.headers, json=address_payload(**changes))

        assert (response.status_code, response.json()["error"]) == (status, error)
        assert await count(session, Address) == 0

    async def test_a_missing_field_is_named(self, client, session, owner):
        payload = address_payload()
        del payload["district"]

        response = await client.post(URL, headers=owner.headers, json=payload)

        assert response.status_code == 422
        assert response.json()["details"] == [{"field": "district", "problem": "必填", "type": "missing"}]
        assert await count(session, Address) == 0


class TestListAddresses:
    async def test_it_works(self, client, session, owner, stranger):
        await add_address(session, owner, detail="一号")
        await add_address(session, owner, detail="二号", recipient="欧阳小明")
        await add_address(session, owner, detail="三号", is_default=True)
        await add_address(session, stranger, detail="别人家")

        response = await client.get(URL, headers=owner.headers)

        assert response.status_code == 200
        # The default first, then oldest first.
        assert [(a["detail"], a["recipient"], a["is_default"]) for a in response.json()] == [
            ("三号", "张*三", True),
            ("一号", "张*三", False),
            ("二号", "欧**明", False),
        ]
        assert {a["phone"] for a in response.json()} == {"138****1234"}

    async def test_no_addresses(self, client, owner):
        response = await client.get(URL, headers=owner.headers)
        assert (response.status_code, response.json()) == (200, [])


class TestUpdateAddress:
    async def test_it_works(self, client, session, owner):
        address_id = await add_address(session, owner)

        response = await client.patch(
            f"{URL}/{address_id}",
            headers=owner.headers,
            json={"recipient": "李四", "phone": "13987654321", "detail": "建国路99号"},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["recipient"], body["phone"], body["detail"], body["district"]) == (
            "李*",
            "139****4321",
            "建国路99号",
            "朝阳区",
        )
        row = (
            await session.execute(select(Address.recipient, Address.phone).where(Address.id == address_id))
        ).one()
        assert tuple(row) == ("李四", "13987654321")
        assert await audit_trail(session, action="address.update") == [
            ("address.update", "success", str(address_id))
        ]

    async def test_setting_another_default_moves_it(self, client, session, owner):
        await add_address(session, owner, detail="一号")
        second = await add_address(session, owner, detail="二号")

        response = await client.patch(f"{URL}/{second}", headers=owner.headers, json={"is_default": True})

        assert response.status_code == 200
        assert response.json()["is_default"] is True
        assert await stored(session, owner.account_id) == [
            ("张小三", "一号", False),
            ("张小三", "二号", True),
        ]

    @pytest.mark.parametrize("field", ["recipient", "province", "city", "district", "detail"])
    async def test_null_leaves_a_required_field_alone(self, client, session, owner, field):
        address_id = await add_address(session, owner)

        response = await client.patch(f"{URL}/{address_id}", headers=owner.headers, json={field: None})

        assert response.status_code == 200, response.text
        assert response.json()[field] == {**address_payload(), "recipient": "张*三"}[field]
        assert await stored(session, owner.account_id) == [("张小三", "建国路88号1号楼101室", True)]

    async def test_malformed_phone_is_refused(self, client, session, owner):
        address_id = await add_address(session, owner)

        response = await client.patch(
            f"{URL}/{address_id}", headers=owner.headers, json={"phone": "12812341234"}
        )

        assert (response.status_code, response.json()["error"]) == (400, "invalid_phone")
        assert await session.scalar(select(Address.phone).where(Address.id == address_id)) == "13812341234"


class TestRemoveAddress:
    async def test_it_works(self, client, session, owner):
        keep = await add_address(session, owner, detail="一号")
        address_id = await add_address(session, owner, detail="二号")

        response = await client.delete(f"{URL}/{address_id}", headers=owner.headers)

        assert response.status_code == 204
        assert await stored(session, owner.account_id) == [("张小三", "一号", True)]
        assert await count(session, Address, Address.id == keep) == 1
        assert await audit_trail(session, action="address.remove") == [
            ("address.remove", "success", str(address_id))
        ]


class TestAnotherAccountsAddress:
    @pytest.mark.parametrize(
        ("method", "body"),
        [("patch", {"detail": "改了"}), ("patch", {"is_default": True}), ("delete", None)],
    )
    async def test_it_is_not_found(self, client, session, owner, stranger, method, body):
        address_id = await add_address(session, owner)
        await add_address(session, stranger, detail="别人家")
        kwargs = {"json": body} if body is not None else {}

        response = await client.request(
            method.upper(), f"{URL}/{address_id}", headers=stranger.headers, **kwargs
        )

        assert response.status_code == 404
        assert response.json() == {"error": "address_not_found", "message": "地址不存在"}
        assert await stored(session, owner.account_id) == [("张小三", "建国路88号1号楼101室", True)]
        assert await stored(session, stranger.account_id) == [("张小三", "别人家", True)]

    async def test_an_unknown_id_is_not_found_too(self, client, owner):
        response = await client.delete(f"{URL}/{uuid.uuid4()}", headers=owner.headers)
        assert (response.status_code, response.json()["error"]) == (404, "address_not_found")


class TestRemovingTheDefault:
    async def test_the_default_moves_to_the_next_address(self, client, session, owner):
        first = await client.post(URL, headers=owner.headers, json=address_payload())
        second = await client.post(URL, headers=owner.headers, json=address_payload(detail="二号楼"))
        assert first.json()["is_default"] is True

        await client.delete(f"{URL}/{first.json()['id']}", headers=owner.headers)

        listed = await client.get(URL, headers=owner.headers)
        assert [(a["id"], a["is_default"]) for a in listed.json()] == [(second.json()["id"], True)]
