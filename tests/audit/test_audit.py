"""The operation log (AD-08): recorded in the action's transaction, sealed into an SM3 chain, append-only,
verified link by link; read by the audit admin only."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ihos.audit import service as audit
from ihos.auth.caller import command_line
from ihos.db import commit, rollback
from ihos.models.audit import AuditEntry
from tests.conftest import IS_POSTGRES
from tests.factories import bearer, make_account, make_org, make_staff, patient_token, staff_token


async def write_entries(session, count: int) -> None:
    caller = command_line("test")
    for number in range(count):
        await audit.record(
            session, caller, "test.action", target_kind="things", target_id=number, details={"n": number}
        )
    await audit.seal(session)


async def bypass_guard(session) -> None:
    """Tampering as someone with direct database access would: switch the triggers off (the test's
    transaction rolls this back)."""
    if IS_POSTGRES:
        await session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_guard"))
    else:
        await session.execute(text("DROP TRIGGER audit_entries_no_delete"))
        await session.execute(text("DROP TRIGGER audit_entries_no_change"))


class TestRecordAndSeal:
    async def test_it_works(self, session):
        await write_entries(session, 3)
        report = await audit.verify(session)
        assert report.is_intact
        assert (report.checked, report.unsealed) == (3, 0)

    async def test_entries_chain_in_order(self, session):
        await write_entries(session, 3)
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.chain_seq))).all()
        assert [e.chain_seq for e in entries] == [1, 2, 3]
        assert entries[0].prev_hash == audit.GENESIS_HASH
        assert entries[1].prev_hash == entries[0].entry_hash
        assert entries[2].entry_hash == audit.link_hash(entries[1].entry_hash, entries[2], 3)

    async def test_a_rolled_back_action_leaves_no_entry(self, session):
        await session.commit()
        await audit.record(session, command_line(), "test.rolled_back")
        await rollback(session)
        assert await session.scalar(select(AuditEntry).where(AuditEntry.action == "test.rolled_back")) is None

    async def test_sealing_continues_the_chain(self, session):
        await write_entries(session, 2)
        await write_entries(session, 2)
        report = await audit.verify(session)
        assert report.is_intact and report.checked == 4

    async def test_the_seal_sweep_runs_in_the_background(self, session, run_jobs):
        await audit.record(session, command_line(), "test.swept")
        await commit(session)
        await run_jobs()
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "test.swept"))
        await session.refresh(entry)
        assert entry.chain_seq is not None


class TestAppendOnly:
    async def test_a_sealed_entry_cannot_be_changed(self, session):
        await write_entries(session, 1)
        await session.commit()
        with pytest.raises(DBAPIError, match="cannot change"):
            async with session.begin_nested():
                await session.execute(text("UPDATE audit_entries SET action = 'forged'"))

    async def test_no_entry_can_be_deleted(self, session):
        await write_entries(session, 1)
        await session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text("DELETE FROM audit_entries"))

    async def test_an_unsealed_entry_cannot_be_rewritten_either(self, session):
        await audit.record(session, command_line(), "test.pending")
        await session.commit()
        with pytest.raises(DBAPIError, match="cannot change"):
            async with session.begin_nested():
                await session.execute(text("UPDATE audit_entries SET result = 'denied'"))


class TestVerify:
    async def test_an_edited_entry_is_found(self, session):
        await write_entries(session, 5)
        await bypass_guard(session)
        await session.execute(text("UPDATE audit_entries SET details = '{\"n\": 99}' WHERE chain_seq = 3"))
        report = await audit.verify(session)
        assert report.first_broken_seq == 3
        assert report.problem == "第 3 条记录的内容被修改"

    async def test_a_deleted_entry_is_found(self, session):
        await write_entries(session, 5)
        await bypass_guard(session)
        await session.execute(text("DELETE FROM audit_entries WHERE chain_seq = 2"))
        report = await audit.verify(session)
        assert report.first_broken_seq == 2
        assert report.problem == "第 2 条记录缺失"

    async def test_a_cut_tail_is_found(self, session):
        await write_entries(session, 5)
        await bypass_guard(session)
        await session.execute(text("DELETE FROM audit_entries WHERE chain_seq = 5"))
        report = await audit.verify(session)
        assert report.first_broken_seq == 5

    async def test_a_rehashed_forgery_is_found_at_the_next_link(self, session):
        """Re-computing the forged entry's own hash is not enough: the next link points at the old one."""
        await write_entries(session, 4)
        await bypass_guard(session)
        forged = await session.scalar(select(AuditEntry).where(AuditEntry.chain_seq == 2))
        forged.details = {"n": 42}
        forged.entry_hash = audit.link_hash(forged.prev_hash, forged, 2)
        await session.flush()
        report = await audit.verify(session)
        assert report.first_broken_seq == 3


class TestApi:
    async def test_audit_admin_searches(self, session, client):
        org = await make_org(session)
        auditor = await staff_token(session, await make_staff(session, org, roles=["audit_admin"]))
        await write_entries(session, 3)
        response = await client.get(
            "/api/v1/audit/entries", headers=bearer(auditor), params={"action": "test.action", "page_size": 2}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 3 and len(body["items"]) == 2
        prefix = await client.get(
            "/api/v1/audit/entries", headers=bearer(auditor), params={"action": "test."}
        )
        assert prefix.json()["total"] == 3

    async def test_audit_admin_verifies(self, session, client):
        org = await make_org(session)
        auditor = await staff_token(session, await make_staff(session, org, roles=["audit_admin"]))
        await write_entries(session, 2)
        response = await client.post("/api/v1/audit/verify", headers=bearer(auditor))
        assert response.json()["is_intact"] is True

    @pytest.mark.parametrize("role", ["system_admin", "security_admin", "customer_service", "doctor"])
    async def test_nobody_else_reads_the_log(self, session, client, role):
        token = await staff_token(session, await make_staff(session, await make_org(session), roles=[role]))
        assert (await client.get("/api/v1/audit/entries", headers=bearer(token))).status_code == 403

    async def test_patients_and_anonymous(self, session, client):
        token = await patient_token(session, await make_account(session))
        assert (await client.get("/api/v1/audit/entries", headers=bearer(token))).status_code == 403
        assert (await client.get("/api/v1/audit/entries")).status_code == 401
