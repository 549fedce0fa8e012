"""Who may call each patients endpoint that guards data, and that a refusal changes nothing.

The cast: nobody (anonymous), the owner of the data, another patient (a stranger), staff without the
endpoint's permission and staff with it. A stranger asking for someone else's patient or address is
told it does not exist (404), not that it is forbidden: the answer must not confirm it exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from ihos.models.accounts import Account, AuthSession, Consent
from ihos.models.files import StoredFile
from ihos.models.jobs import Job
from ihos.models.patients import AccountPatient, Address, IdentityReview, Patient
from ihos.patients import service
from tests.patients.helpers import WANG_FANG, ZHANG_WEI, add_patient, jpeg, patient_payload


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # placeholders: {patient}, {address}, {account}, {review}
    ok: int
    permission: str | None = None  # None: a patient-app route (/me/...)
    names_an_item: bool = False  # the path names one of the owner's patients or addresses
    json: dict[str, Any] | None = None
    with_documents: bool = False
    staff_without: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ME_ROUTES = [
    Route("GET", "/me/patients", 200),
    Route("POST", "/me/patients", 201, json={}),  # payload made per test: ID numbers must be fresh
    Route("PATCH", "/me/patients/{patient}", 200, names_an_item=True, json={"health_card_number": "HC1"}),
    Route("DELETE", "/me/patients/{patient}", 204, names_an_item=True),
    Route("POST", "/me/patients/{patient}/default", 200, names_an_item=True),
    Route("POST", "/me/patients/{patient}/unmask", 200, names_an_item=True),
    Route("GET", "/me/real-name", 200),
    Route(
        "POST", "/me/real-name", 200, json={"name": ZHANG_WEI["name"], "id_number": ZHANG_WEI["id_number"]}
    ),
    Route("POST", "/me/real-name/review", 201, with_documents=True),
    Route("GET", "/me/addresses", 200),
    Route(
        "POST",
        "/me/addresses",
        201,
        json={
            "recipient": "张小三",
            "phone": "13812341234",
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
            "detail": "建国路88号",
        },
    ),
    Route("PATCH", "/me/addresses/{address}", 200, names_an_item=True, json={"detail": "建国路99号"}),
    Route("DELETE", "/me/addresses/{address}", 204, names_an_item=True),
]

READERS_WITHOUT = ("finance", "system_admin", "security_admin", "audit_admin")
CUSTOMER_SERVICE_ONLY = ("doctor", "nurse", "insurance_office", "system_admin")
BACK_OFFICE_ROUTES = [
    Route("GET", "/accounts", 200, permission="patient.read", staff_without=READERS_WITHOUT),
    Route("GET", "/accounts/{account}", 200, permission="patient.read", staff_without=READERS_WITHOUT),
    Route("GET", "/patients", 200, permission="patient.read", staff_without=READERS_WITHOUT),
    Route("GET", "/patients/{patient}", 200, permission="patient.read", staff_without=READERS_WITHOUT),
    Route(
        "POST",
        "/patients/{patient}/unmask",
        200,
        permission="patient.unmask",
        json={"reason": "患者来电核实身份"},
        staff_without=CUSTOMER_SERVICE_ONLY,
    ),
    Route(
        "POST",
        "/accounts/{account}/password-reset",
        204,
        permission="patient.password_reset",
        staff_without=CUSTOMER_SERVICE_ONLY,
    ),
    Route("GET", "/identity-reviews", 200, permission="identity.review", staff_without=CUSTOMER_SERVICE_ONLY),
    Route(
        "GET",
        "/identity-reviews/{review}",
        200,
        permission="identity.review",
        staff_without=CUSTOMER_SERVICE_ONLY,
    ),
    Route(
        "POST",
        "/identity-reviews/{review}/approve",
        200,
        permission="identity.review",
        staff_without=CUSTOMER_SERVICE_ONLY,
    ),
    Route(
        "POST",
        "/identity-reviews/{review}/reject",
        200,
        permission="identity.review",
        json={"reason": "照片模糊"},
        staff_without=CUSTOMER_SERVICE_ONLY,
    ),
]
ALL_ROUTES = ME_ROUTES + BACK_OFFICE_ROUTES


@dataclass(frozen=True)
class World:
    patient: uuid.UUID
    address: uuid.UUID
    account: uuid.UUID
    review: uuid.UUID


@pytest.fixture
async def world(session, owner, make_patient_user) -> World:
    """The owner with two family patients and an address; another account waiting for identity review."""
    patient = await add_patient(session, owner, relation="spouse")
    await add_patient(session, owner, relation="child")
    address = await service.add_address(
        session,
        owner.caller,
        recipient="张小三",
        phone="13812341234",
        province="北京市",
        city="北京市",
        district="朝阳区",
        detail="建国路88号",
        is_default=False,
    )
    applicant = await make_patient_user()
    review = await service.submit_identity_review(
        session,
        applicant.caller,
        name=WANG_FANG["name"],
        id_number=WANG_FANG["id_number"],
        documents=[(jpeg(), "id.jpg")],
    )
    return World(patient=patient, address=address.id, account=owner.account_id, review=review.id)


async def snapshot(session) -> dict[str, list[tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    """Everything a patients endpoint could change, in a comparable form."""

    async def rows(*columns: Any) -> list[tuple[Any, ...]]:
        return sorted((tuple(row) for row in (await session.execute(select(*columns))).all()), key=str)

    return {
        "patients": await rows(
            Patient.id, Patient.phone, Patient.health_card_number, Patient.identity_status
        ),
        "holdings": await rows(
            AccountPatient.account_id,
            AccountPatient.patient_id,
            AccountPatient.relation,
            AccountPatient.is_default,
        ),
        "addresses": await rows(Address.id, Address.detail, Address.phone, Address.is_default),
        "reviews": await rows(IdentityReview.id, IdentityReview.state, IdentityReview.reason),
        "accounts": await rows(
            Account.id, Account.password_hash, Account.must_change_password, Account.real_name_status
        ),
        "live_sessions": await rows(AuthSession.id, AuthSession.revoked_at),
        "jobs": await rows(Job.id),
        "files": await rows(StoredFile.id),
        "consents": await rows(Consent.id),
    }


async def call(client, route: Route, world: World, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    path = "/api/v1" + route.path.format(
        patient=world.patient, address=world.address, account=world.account, review=world.review
    )
    kwargs: dict[str, Any] = {"headers": headers}
    if route.path == "/me/patients" and route.method == "POST":
        kwargs["json"] = patient_payload()
    elif route.json is not None:
        kwargs["json"] = route.json
    if route.with_documents:
        kwargs["data"] = {"name": "郑小红", "id_number": "110101199003070513"}
        kwargs["files"] = [("documents", ("front.jpg", jpeg(), "image/jpeg"))]
    return await client.request(route.method, path, **kwargs)


class TestAnonymous:
    @pytest.mark.parametrize("route", ALL_ROUTES, ids=str)
    async def test_it_is_refused(self, client, session, world, route):
        before = await snapshot(session)

        response = await call(client, route, world, {})

        assert response.status_code == 401
        assert response.json() == {"error": "unauthenticated", "message": "请先登录"}
        assert await snapshot(session) == before


class TestOwner:
    @pytest.mark.parametrize("route", ME_ROUTES, ids=str)
    async def test_it_works(self, client, world, owner, route):
        response = await call(client, route, world, owner.headers)
        assert response.status_code == route.ok, response.text


class TestAnotherPatient:
    @pytest.mark.parametrize("route", [r for r in ME_ROUTES if r.names_an_item], ids=str)
    async def test_someone_elses_item_is_not_found(self, client, session, world, stranger, route):
        before = await snapshot(session)

        response = await call(client, route, world, stranger.headers)

        assert response.status_code == 404
        assert response.json()["error"] == (
            "address_not_found" if "addresses" in route.path else "patient_not_found"
        )
        assert await snapshot(session) == before

    @pytest.mark.parametrize("path", ["/api/v1/me/patients", "/api/v1/me/addresses"])
    async def test_lists_hold_only_their_own(self, client, world, stranger, path):
        response = await client.get(path, headers=stranger.headers)
        assert (response.status_code, response.json()) == (200, [])

    @pytest.mark.parametrize("route", BACK_OFFICE_ROUTES, ids=str)
    async def test_the_back_office_is_for_staff(self, client, session, world, stranger, route):
        before = await snapshot(session)

        response = await call(client, route, world, stranger.headers)

        assert response.status_code == 403
        assert response.json() == {"error": "staff_only", "message": "此功能仅供医院工作人员使用"}
        assert await snapshot(session) == before


class TestStaffWithoutThePermission:
    @pytest.mark.parametrize(
        ("route", "role"),
        [
            pytest.param(route, role, id=f"{route}-{role}")
            for route in BACK_OFFICE_ROUTES
            for role in route.staff_without
        ],
    )
    async def test_it_is_forbidden(self, client, session, world, make_staff_user, route, role):
        staff = await make_staff_user(role)
        before = await snapshot(session)

        response = await call(client, route, world, staff.headers)

        assert response.status_code == 403
        assert response.json() == {"error": "forbidden", "message": "没有权限执行此操作"}
        assert await snapshot(session) == before

    @pytest.mark.parametrize("route", ME_ROUTES, ids=str)
    async def test_the_patient_app_is_for_patients(self, client, session, world, customer_service, route):
        before = await snapshot(session)

        response = await call(client, route, world, customer_service.headers)

        assert response.status_code == 403
        assert response.json() == {"error": "patients_only", "message": "此功能仅供患者使用"}
        assert await snapshot(session) == before


class TestStaffWithThePermission:
    @pytest.mark.parametrize("route", BACK_OFFICE_ROUTES, ids=str)
    async def test_customer_service_may(self, client, world, customer_service, route):
        response = await call(client, route, world, customer_service.headers)
        assert response.status_code == route.ok, response.text

    @pytest.mark.parametrize("role", ["doctor", "nurse", "pharmacist", "insurance_office"])
    @pytest.mark.parametrize(
        "route", [r for r in BACK_OFFICE_ROUTES if r.permission == "patient.read"], ids=str
    )
    async def test_patient_read_roles_may_read(self, client, world, make_staff_user, route, role):
        staff = await make_staff_user(role)
        response = await call(client, route, world, staff.headers)
        assert response.status_code == 200, response.text
