"""Dictionaries (字典): relations, professional titles, posts, … edited by the system admin.

The built-in entries are inserted by the migration that creates the table; hospitals add their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.db import insert_unique
from ihos.errors import Conflict, NotFound
from ihos.models.system import DictionaryEntry

DICTIONARIES = {
    "relation": "与账户持有人关系",
    "professional_title": "职称",
    "post": "职务",
}


async def has_entry(session: AsyncSession, dictionary: str, code: str) -> bool:
    found = await session.scalar(
        select(DictionaryEntry.id).where(
            DictionaryEntry.dictionary == dictionary, DictionaryEntry.code == code, DictionaryEntry.is_active
        )
    )
    return found is not None


async def entries(
    session: AsyncSession, dictionary: str, *, include_inactive: bool = False
) -> Sequence[DictionaryEntry]:
    statement = select(DictionaryEntry).where(DictionaryEntry.dictionary == dictionary)
    if not include_inactive:
        statement = statement.where(DictionaryEntry.is_active)
    return (await session.scalars(statement.order_by(DictionaryEntry.sort_order, DictionaryEntry.code))).all()


class DictionaryNotFound(NotFound):
    code = "dictionary_not_found"
    default_message = "字典不存在"


class EntryNotFound(NotFound):
    code = "dictionary_entry_not_found"
    default_message = "字典项不存在"


class EntryCodeTaken(Conflict):
    code = "dictionary_entry_exists"
    default_message = "该字典已有此编码"


async def add_entry(
    session: AsyncSession, caller: Caller, *, dictionary: str, code: str, label: str, sort_order: int
) -> DictionaryEntry:
    if dictionary not in DICTIONARIES:
        raise DictionaryNotFound()
    entry = DictionaryEntry(dictionary=dictionary, code=code, label=label, sort_order=sort_order)
    if not await insert_unique(session, entry):
        raise EntryCodeTaken()
    await audit.record(
        session,
        caller,
        "dictionary.add",
        target_kind="dictionary_entries",
        target_id=entry.id,
        details={"dictionary": dictionary, "code": code, "label": label},
    )
    return entry


async def update_entry(
    session: AsyncSession, caller: Caller, entry_id: uuid.UUID, **changes: Any
) -> DictionaryEntry:
    entry = await session.get(DictionaryEntry, entry_id)
    if entry is None:
        raise EntryNotFound()
    for field, value in changes.items():
        setattr(entry, field, value)
    await session.flush()
    await audit.record(
        session,
        caller,
        "dictionary.update",
        target_kind="dictionary_entries",
        target_id=entry.id,
        details=changes,
    )
    return entry
