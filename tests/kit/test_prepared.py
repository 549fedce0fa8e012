"""Prepared statements behave like the session's own, on SQLite and on PostgreSQL (where they bypass
SQLAlchemy): same rows, same transaction, same errors."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from ihos.db import commit, rollback
from ihos.kit.prepared import Prepared, _Compiled
from ihos.kit.time import now
from ihos.models.accounts import Account
from ihos.models.system import SystemRule
from tests.factories import make_account

_RULE = Prepared(
    select(SystemRule.key, SystemRule.value, literal("fixed").label("tag")).where(
        SystemRule.key == bindparam("key")
    )
)
_ADD_RULE = Prepared(
    insert(SystemRule.__table__)
    .values(key=bindparam("key"), value=bindparam("value"))
    .values(created_at=bindparam("at"), updated_at=bindparam("at"))
    .returning(SystemRule.key)
)
_PHONE = Prepared(select(Account.phone).where(Account.id == bindparam("account_id")))


async def add_rule(session, key: str, value: object) -> str:  # type: ignore[no-untyped-def]
    return await _ADD_RULE.scalar(session, key=key, value=value, at=now())


class TestConstants:
    """On PostgreSQL a statement's constants are part of its SQL, so that the plan PostgreSQL keeps for
    the prepared statement can use the partial index they name; the named parameters stay bound."""

    def test_constants_are_written_into_the_sql(self):
        statement = select(Account.id).where(
            Account.real_name_status == "verified",
            Account.username != "it's",
            Account.id == bindparam("account_id"),
        )
        compiled = _Compiled(statement, postgresql.asyncpg.dialect())
        assert "accounts.real_name_status = 'verified'" in compiled.sql
        assert "accounts.username != 'it''s'" in compiled.sql
        assert compiled.names == ("account_id",)


class TestRows:
    async def test_named_rows_with_json_and_literals(self, session):
        assert await add_rule(session, "prepared.test", {"minutes": [5, 10]}) == "prepared.test"
        row = await _RULE.first(session, key="prepared.test")
        assert (row.key, row.value, row.tag) == ("prepared.test", {"minutes": [5, 10]}, "fixed")
        assert await _RULE.first(session, key="prepared.none") is None

    async def test_encrypted_columns_come_back_decrypted(self, session):
        account = await make_account(session, phone="13800001234")
        assert await _PHONE.scalar(session, account_id=account.id) == "13800001234"

    async def test_pending_orm_changes_are_flushed_first(self, session):
        session.add(SystemRule(key="prepared.pending", value=1))
        assert (await _RULE.first(session, key="prepared.pending")).value == 1

    async def test_a_refused_insert_is_an_integrity_error(self, session):
        await add_rule(session, "prepared.twice", 1)
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await add_rule(session, "prepared.twice", 2)
        assert (await _RULE.first(session, key="prepared.twice")).value == 1


class TestTransaction:
    """With real commits: a prepared write is part of the session's transaction, never on its own."""

    async def test_rolled_back_with_the_session(self, own_database):
        async with own_database() as session:
            await add_rule(session, "prepared.rolled_back", 1)
            await rollback(session)
        async with own_database() as session:
            assert await _RULE.first(session, key="prepared.rolled_back") is None

    async def test_committed_with_the_session(self, own_database):
        async with own_database() as session:
            await add_rule(session, "prepared.committed", 1)
            session.add(SystemRule(key="prepared.committed_too", value=2))
            await commit(session)
        async with own_database() as session:
            assert (await _RULE.first(session, key="prepared.committed")).value == 1
            assert (await _RULE.first(session, key="prepared.committed_too")).value == 2
