"""Organisation (AD-01, DR-02, DR-03): hospitals, campuses, department trees, staff accounts, roles."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import func, select

from ihos.models.audit import AuditEntry
from ihos.models.organization import Department, Staff
from ihos.organization import service
from tests.factories import (
    PASSWORD,
    bearer,
    make_account,
    make_org,
    make_staff,
    patient_token,
    staff_token,
    unique,
)

API = "/api/v1/organisation"


@pytest.fixture
async def org(session):
    return await make_org(session)


@pytest.fixture
async def security_admin(session, org):
    return await staff_token(session, await make_staff(session, org, roles=["security_admin"]))


def staff_payload(org, **overrides):
    body = {
        "username": unique("doc"),
        "name": "李医生",
        "staff_number": unique("D"),
        "roles": ["doctor"],
        "department_ids": [str(org.department_id)],
        "professional_title": "attending_physician",
        "speciality": "高血压",
        "phone": "13811112222",
    }
    return body | overrides


class TestDepartments:
    async def test_it_works(self, client, org, security_admin):
        response = await client.post(
            f"{API}/departments",
            headers=bearer(security_admin),
            json={
                "campus_id": str(org.campus_id),
                "parent_id": str(org.department_id),
                "code": "CARD",
                "name": "心内科",
            },
        )
        assert response.status_code == 201, response.text
        tree = await client.get(f"{API}/campuses/{org.campus_id}/departments", headers=bearer(security_admin))
        assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree.json()] == [
            ("内科", ["心内科"])
        ]

    async def test_code_is_unique_per_campus(self, session, client, org, security_admin):
        body = {"campus_id": str(org.campus_id), "code": "SAME", "name": "甲"}
        assert (
            await client.post(f"{API}/departments", headers=bearer(security_admin), json=body)
        ).status_code == 201
        again = await client.post(f"{API}/departments", headers=bearer(security_admin), json=body)
        assert again.status_code == 409
        assert again.json()["error"] == "code_taken"

    async def test_a_department_cannot_move_under_its_own_child(self, session, client, org, security_admin):
        child = await service.create_department(
            session,
            org.admin,
            campus_id=org.campus_id,
            parent_id=org.department_id,
            code="CHILD",
            name="子科室",
        )
        response = await client.patch(
            f"{API}/departments/{org.department_id}",
            headers=bearer(security_admin),
            json={"parent_id": str(child.id)},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_department_parent"
        parent = await session.scalar(select(Department.parent_id).where(Department.id == org.department_id))
        assert parent is None

    async def test_the_parent_must_be_in_the_same_campus(self, session, client, org, security_admin):
        other = await service.create_campus(
            session, org.admin, hospital_id=org.hospital_id, code="EAST", name="东院"
        )
        response = await client.post(
            f"{API}/departments",
            headers=bearer(security_admin),
            json={
                "campus_id": str(other.id),
                "parent_id": str(org.department_id),
                "code": "X",
                "name": "错位科室",
            },
        )
        assert response.json()["error"] == "invalid_department_parent"

    async def test_changes_are_audited(self, session, client, org, security_admin):
        await client.patch(
            f"{API}/departments/{org.department_id}", headers=bearer(security_admin), json={"name": "大内科"}
        )
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "department.update"))
        assert entry.details == {"fields": ["name"]}


class TestCreateStaff:
    async def test_it_works(self, session, client, org, security_admin):
        response = await client.post(f"{API}/staff", headers=bearer(security_admin), json=staff_payload(org))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["staff"]["phone"] == "138****2222"
        assert body["staff"]["campus_ids"] == [str(org.campus_id)]  # the department's campus comes along
        temporary = body["temporary_password"]
        signed_in = await client.post(
            "/api/v1/auth/staff/sign-in", json={"username": body["staff"]["username"], "password": temporary}
        )
        assert signed_in.json()["must_change_password"] is True

    async def test_administrator_roles_cannot_be_granted(self, session, client, org, security_admin):
        for roles in (["audit_admin"], ["doctor", "system_admin"]):
            response = await client.post(
                f"{API}/staff", headers=bearer(security_admin), json=staff_payload(org, roles=roles)
            )
            assert response.status_code == 403
            assert response.json()["error"] == "separation_of_duties"
        assert await session.scalar(select(func.count()).select_from(Staff)) == 1

    async def test_unknown_role_and_title(self, client, org, security_admin):
        response = await client.post(
            f"{API}/staff", headers=bearer(security_admin), json=staff_payload(org, roles=["wizard"])
        )
        assert response.json()["error"] == "invalid_roles"
        response = await client.post(
            f"{API}/staff",
            headers=bearer(security_admin),
            json=staff_payload(org, professional_title="emperor"),
        )
        assert response.json()["message"] == "职称不在字典中：emperor"

    async def test_username_taken(self, session, client, org, security_admin):
        await make_staff(session, org, roles=["nurse"], username="taken")
        response = await client.post(
            f"{API}/staff", headers=bearer(security_admin), json=staff_payload(org, username="taken")
        )
        assert response.status_code == 409

    async def test_administrators_cannot_be_edited_from_the_console(
        self, session, client, org, security_admin
    ):
        auditor = await make_staff(session, org, roles=["audit_admin"])
        response = await client.post(
            f"{API}/staff/{auditor.id}/password-reset", headers=bearer(security_admin)
        )
        assert response.status_code == 403
        assert response.json()["error"] == "separation_of_duties"


class TestManageStaff:
    async def test_reset_password_ends_sessions(self, session, client, org, security_admin):
        doctor = await make_staff(session, org, roles=["doctor"])
        doctor_session = await staff_token(session, doctor)
        response = await client.post(
            f"{API}/staff/{doctor.id}/password-reset", headers=bearer(security_admin)
        )
        assert response.status_code == 200
        assert len(response.json()["temporary_password"]) >= 12
        assert (await client.get("/api/v1/auth/me", headers=bearer(doctor_session))).status_code == 401

    async def test_deactivating_ends_sessions(self, session, client, org, security_admin):
        doctor = await make_staff(session, org, roles=["doctor"])
        doctor_session = await staff_token(session, doctor)
        response = await client.patch(
            f"{API}/staff/{doctor.id}", headers=bearer(security_admin), json={"is_active": False}
        )
        assert response.json()["is_active"] is False
        assert (await client.get("/api/v1/auth/me", headers=bearer(doctor_session))).status_code == 401

    async def test_unlock(self, session, client, org, security_admin):
        doctor = await make_staff(session, org, roles=["doctor"])
        username, doctor_id = doctor.username, doctor.id
        for _ in range(5):
            await client.post(
                "/api/v1/auth/staff/sign-in", json={"username": username, "password": "Wrong@2026"}
            )
        response = await client.post(f"{API}/staff/{doctor_id}/unlock", headers=bearer(security_admin))
        assert response.json()["is_locked"] is False
        signed_in = await client.post(
            "/api/v1/auth/staff/sign-in", json={"username": username, "password": PASSWORD}
        )
        assert signed_in.status_code == 200

    async def test_search(self, session, client, org, security_admin):
        await make_staff(session, org, roles=["doctor"], username="findme")
        response = await client.get(f"{API}/staff", headers=bearer(security_admin), params={"q": "findme"})
        assert [s["username"] for s in response.json()["items"]] == ["findme"]
        by_role = await client.get(f"{API}/staff", headers=bearer(security_admin), params={"role": "doctor"})
        assert by_role.json()["total"] == 1


class TestOwnProfile:
    async def test_it_works(self, session, client, org):
        doctor = await make_staff(session, org, roles=["doctor"])
        token = await staff_token(session, doctor)
        response = await client.patch(
            f"{API}/me",
            headers=bearer(token),
            json={"speciality": "心力衰竭", "is_accepting_consultations": True},
        )
        assert response.status_code == 200
        assert response.json()["speciality"] == "心力衰竭"

    async def test_title_is_not_self_service(self, session, client, org):
        token = await staff_token(session, await make_staff(session, org, roles=["doctor"]))
        response = await client.patch(
            f"{API}/me", headers=bearer(token), json={"professional_title": "chief_physician"}
        )
        assert response.status_code == 422

    async def test_photo(self, session, client, org):
        token = await staff_token(session, await make_staff(session, org, roles=["pharmacist"]))
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, "JPEG")
        response = await client.put(
            f"{API}/me/photo",
            headers=bearer(token),
            files={"photo": ("me.jpg", buffer.getvalue(), "image/jpeg")},
        )
        assert response.status_code == 200, response.text
        photo = await client.get(response.json()["photo_url"])
        assert photo.status_code == 200
        assert photo.headers["content-type"] == "image/jpeg"


class TestCampusScope:
    async def test_doctors_see_staff_of_their_campuses_only(self, session, client, org):
        east = await service.create_campus(
            session, org.admin, hospital_id=org.hospital_id, code="EAST", name="东院"
        )
        east_doctor = await make_staff(session, org, roles=["doctor"], campus=east)
        main_doctor = await make_staff(session, org, roles=["doctor"])
        token = await staff_token(session, main_doctor)
        listed = await client.get(f"{API}/staff", headers=bearer(token))
        assert str(east_doctor.id) not in {s["id"] for s in listed.json()["items"]}
        direct = await client.get(f"{API}/staff/{east_doctor.id}", headers=bearer(token))
        assert direct.status_code == 404
        campuses = await client.get(f"{API}/campuses", headers=bearer(token))
        assert [c["code"] for c in campuses.json()] == [org.campus_code]

    async def test_hospital_wide_roles_see_every_campus(self, session, client, org):
        await service.create_campus(session, org.admin, hospital_id=org.hospital_id, code="EAST", name="东院")
        token = await staff_token(session, await make_staff(session, org, roles=["customer_service"]))
        campuses = await client.get(f"{API}/campuses", headers=bearer(token))
        assert len(campuses.json()) == 2


class TestRoles:
    async def test_custom_role_with_business_permissions(self, session, client, org, security_admin):
        response = await client.post(
            f"{API}/roles",
            headers=bearer(security_admin),
            json={"code": "triage_nurse", "name": "分诊护士", "permissions": ["patient.read"]},
        )
        assert response.status_code == 201
        assert response.json()["is_builtin"] is False

    async def test_custom_role_cannot_hold_admin_permissions(self, client, security_admin):
        response = await client.post(
            f"{API}/roles",
            headers=bearer(security_admin),
            json={"code": "sneaky", "name": "偷偷", "permissions": ["patient.read", "audit.read"]},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_permissions"

    async def test_builtin_roles_are_listed_and_fixed(self, client, security_admin):
        listed = await client.get(f"{API}/roles", headers=bearer(security_admin))
        roles = {r["code"]: r for r in listed.json()}
        assert roles["audit_admin"]["permissions"] == ["audit.read"]
        assert roles["audit_admin"]["is_admin"] is True
        response = await client.patch(
            f"{API}/roles/doctor", headers=bearer(security_admin), json={"name": "大夫"}
        )
        assert response.status_code == 403

    async def test_a_role_in_use_cannot_be_deleted(self, session, client, org, security_admin):
        await client.post(
            f"{API}/roles",
            headers=bearer(security_admin),
            json={"code": "helper", "name": "助理", "permissions": ["patient.read"]},
        )
        await make_staff(session, org, roles=["helper"])
        response = await client.delete(f"{API}/roles/helper", headers=bearer(security_admin))
        assert response.json()["error"] == "role_in_use"


ROUTES = [
    ("get", "/staff", None),
    ("post", "/staff", "staff"),
    ("post", "/departments", "department"),
    ("post", "/roles", "role"),
]


class TestAuthorisation:
    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    async def test_anonymous(self, client, method, path, body):
        response = await client.request(method.upper(), API + path, json={} if body else None)
        assert response.status_code == 401

    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    async def test_patient(self, session, client, method, path, body):
        token = await patient_token(session, await make_account(session))
        response = await client.request(
            method.upper(), API + path, headers=bearer(token), json={} if body else None
        )
        assert response.status_code == 403
        assert response.json()["error"] == "staff_only"

    @pytest.mark.parametrize("role", ["doctor", "system_admin", "audit_admin"])
    async def test_staff_without_the_permission_change_nothing(self, session, client, org, role):
        token = await staff_token(session, await make_staff(session, org, roles=[role]))
        before = await session.scalar(select(func.count()).select_from(Staff))
        response = await client.post(f"{API}/staff", headers=bearer(token), json=staff_payload(org))
        assert response.status_code == 403
        assert await session.scalar(select(func.count()).select_from(Staff)) == before
        denial = await session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied"))
        assert denial.details == {"permission": "staff.manage"} and denial.result == "denied"

    async def test_audit_admin_cannot_even_read_the_organisation(self, session, client, org):
        token = await staff_token(session, await make_staff(session, org, roles=["audit_admin"]))
        assert (await client.get(f"{API}/staff", headers=bearer(token))).status_code == 403

    async def test_unknown_ids_are_not_found(self, client, security_admin):
        response = await client.get(f"{API}/staff/{uuid.uuid4()}", headers=bearer(security_admin))
        assert response.status_code == 404


class TestFindingsFromTheConsole:
    async def test_sending_the_same_roles_keeps_the_person_signed_in(
        self, session, client, org, security_admin
    ):
        doctor = await make_staff(session, org, roles=["doctor"])
        doctor_session = await staff_token(session, doctor)
        response = await client.patch(
            f"{API}/staff/{doctor.id}",
            headers=bearer(security_admin),
            json={"roles": ["doctor"], "speciality": "心律失常"},
        )
        assert response.status_code == 200
        assert (await client.get("/api/v1/auth/me", headers=bearer(doctor_session))).status_code == 200

    async def test_changed_roles_sign_the_person_out(self, session, client, org, security_admin):
        doctor = await make_staff(session, org, roles=["doctor"])
        doctor_session = await staff_token(session, doctor)
        await client.patch(
            f"{API}/staff/{doctor.id}", headers=bearer(security_admin), json={"roles": ["nurse"]}
        )
        assert (await client.get("/api/v1/auth/me", headers=bearer(doctor_session))).status_code == 401

    async def test_own_profile_whatever_the_campus_scope(self, session, client, org):
        nurse = await make_staff(session, org, roles=["nurse"])
        nurse.campuses = []
        nurse.departments = []
        token = await staff_token(session, nurse)
        assert (await client.get(f"{API}/me", headers=bearer(token))).status_code == 200

    async def test_the_permissions_a_custom_role_may_hold(self, client, security_admin):
        response = await client.get(f"{API}/permissions", headers=bearer(security_admin))
        codes = {p["code"] for p in response.json()}
        assert "patient.read" in codes and "audit.read" not in codes and "staff.manage" not in codes
