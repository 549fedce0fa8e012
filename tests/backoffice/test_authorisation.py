"""Who may use the system admin's desk: only the system admin; a refusal changes nothing and is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ihos.models.audit import AuditEntry
from ihos.models.system import DictionaryEntry, SystemClient, SystemRule
from tests.factories import bearer, make_account, make_org, make_staff, patient_token, staff_token

WRITES = [
    ("PUT", "/api/v1/rules/order.hold_minutes", {"value": 30}),
    ("POST", "/api/v1/dictionaries/post", {"code": "new_post", "label": "新职务"}),
    ("POST", "/api/v1/system-clients", {"name": "自助机", "kind": "kiosk"}),
]
READS = ["/api/v1/rules", "/api/v1/jobs/failed", "/api/v1/system-clients"]


async def state(session) -> tuple[int, int, int]:
    return (
        await session.scalar(select(func.count()).select_from(SystemRule)),
        await session.scalar(select(func.count()).select_from(DictionaryEntry)),
        await session.scalar(select(func.count()).select_from(SystemClient)),
    )


async def token_for(session, who: str) -> str | None:
    if who == "anonymous":
        return None
    if who == "patient":
        return await patient_token(session, await make_account(session))
    return await staff_token(session, await make_staff(session, await make_org(session), roles=[who]))


class TestSystemDesk:
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("doctor", 403),
            ("security_admin", 403),
            ("audit_admin", 403),
        ],
    )
    @pytest.mark.parametrize(("method", "path", "body"), WRITES)
    async def test_refusals_change_nothing(self, session, client, who, status, method, path, body):
        token = await token_for(session, who)
        before = await state(session)
        response = await client.request(method, path, json=body, headers=bearer(token) if token else {})
        assert response.status_code == status
        assert await state(session) == before

    @pytest.mark.parametrize("path", READS)
    @pytest.mark.parametrize("who", ["doctor", "security_admin", "audit_admin"])
    async def test_other_staff_cannot_read_it(self, session, client, who, path):
        response = await client.get(path, headers=bearer(await token_for(session, who)))
        assert response.status_code == 403
        denial = await session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied"))
        assert denial.result == "denied"

    @pytest.mark.parametrize(("method", "path", "body"), WRITES)
    async def test_the_system_admin_may(self, session, client, method, path, body):
        token = await token_for(session, "system_admin")
        response = await client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code in (200, 201)
