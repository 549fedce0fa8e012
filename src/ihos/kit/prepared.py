"""Statements for the hottest paths, sent straight to the database driver on PostgreSQL.

SQLAlchemy spends more time on a small statement than PostgreSQL does (building the execution context,
the ORM layers, the result object: ~0.3–0.5 ms against ~0.1 ms for the round trip itself, measured in
``bench/booking_rush.py``). At the booking rush every request runs eight of them, so the few statements on
that path (the session check, the hold) are ``Prepared``: compiled once per dialect, then run on the
session's own connection and transaction —

- on PostgreSQL through asyncpg directly (which prepares each statement once per connection);
- on SQLite through SQLAlchemy as usual (there the database lock, not Python, is the limit).

Everything else uses the session. A ``Prepared`` statement sees and is seen by the session's other work:
pending ORM changes are flushed first, and it runs inside the session's transaction, which SQLAlchemy
commits or rolls back as always. A unique or foreign-key refusal raises SQLAlchemy's ``IntegrityError``
on both dialects, so callers handle one exception.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import CompileError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter

Processor = Callable[[Any], Any] | None


class _Compiled:
    """One statement compiled for asyncpg: its SQL with $n placeholders and how to bind and read it."""

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = _compile_with_constants_inline(statement, dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            # Expanded at execution time by SQLAlchemy, which a Prepared statement skips.
            raise ValueError("a Prepared statement cannot use in_(list): write in_([literal(v), …])")
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.defaults: dict[str, Any] = dict(compiled.params)
        # Columns whose Python-side default (insert) or onupdate (update) SQLAlchemy would compute.
        self.generated: dict[str, Any] = {
            **{column.key: column.default for column in compiled.insert_prefetch},
            **{column.key: column.onupdate for column in compiled.update_prefetch},
        }
        binds = compiled.binds
        self.bind_processors: dict[str, Processor] = {}
        for name in self.names:
            processor = binds[name].type._cached_bind_processor(dialect)
            if processor is not None:
                self.bind_processors[name] = processor
        columns = list(getattr(statement, "selected_columns", None) or _returning(statement))
        self.row: Any = namedtuple("Row", [_label(column, n) for n, column in enumerate(columns)])  # type: ignore[misc]
        self.result_processors: list[Processor] = [
            column.type._cached_result_processor(dialect, None) for column in columns
        ]
        self.processes_results = any(self.result_processors)

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            if name in params:
                value = params[name]
            elif name in self.generated:
                value = _generate(self.generated[name])
            else:
                value = self.defaults[name]
            processor = self.bind_processors.get(name)
            values.append(processor(value) if processor else value)
        return values

    def read(self, record: Sequence[Any]) -> Any:
        if self.processes_results:
            record = [p(v) if p else v for p, v in zip(self.result_processors, record, strict=True)]
        return self.row._make(record)


def _compile_with_constants_inline(statement: Any, dialect: Any) -> Any:
    """The statement compiled with its constants (``status = 'free'``, not the named parameters) written
    into the SQL rather than bound. asyncpg prepares each statement once per connection, and PostgreSQL
    then plans it once for all executions (a generic plan) if that plan is as good as one made for the
    values at hand. A bound constant hides which partial index fits (``WHERE status = 'free'``), so the
    generic plan was slow and PostgreSQL planned every execution anew: a fifth of a millisecond each."""

    class Compiler(dialect.statement_compiler):
        def visit_bindparam(self, bindparam: BindParameter[Any], **kw: Any) -> str:
            if bindparam.unique and bindparam.value is not None and not bindparam.callable:
                try:
                    return str(super().visit_bindparam(bindparam, **{**kw, "literal_binds": True}))
                except CompileError:
                    pass  # a value whose type has no literal form: it stays bound
            return str(super().visit_bindparam(bindparam, **kw))

    return Compiler(dialect, statement)


def _generate(default: Any) -> Any:
    """A column default's value, computed the way SQLAlchemy would for a statement without a context."""
    return default.arg(None) if default.is_callable else default.arg


def _returning(statement: Any) -> Sequence[Any]:
    return getattr(statement, "_returning", ()) or ()


def _label(column: Any, position: int) -> str:
    if isinstance(column, str):
        name: Any = column
    else:
        name = getattr(column, "key", None) or getattr(column, "name", None)
    return name if isinstance(name, str) and name.isidentifier() else f"column_{position}"


class Prepared:
    """A Core statement with bind parameters, built once at import time and run many times."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._postgresql: _Compiled | None = None
        self._row_type: Any = None

    async def rows(self, session: AsyncSession, **params: Any) -> list[Any]:
        """Every row (named tuples: ``row.state``), or none for a statement without RETURNING (whose
        row count is not reported: return something to count)."""
        if session.new or session.dirty or session.deleted:
            await session.flush()  # what the session would do before a statement of its own
        if session.bind.dialect.name != "postgresql":
            result = await (await session.connection()).execute(self.statement, params)
            if not result.returns_rows:
                return []
            if self._row_type is None:
                self._row_type = namedtuple("Row", [_label(k, n) for n, k in enumerate(result.keys())])  # type: ignore[misc]
            return [self._row_type._make(row) for row in result.all()]
        compiled = self._compiled(session)
        driver = await _driver_connection(session)
        try:
            records = await driver.fetch(compiled.sql, *compiled.arguments(params))
        except Exception as error:
            raise _translated(error, compiled.sql) from error
        return [compiled.read(record) for record in records]

    async def first(self, session: AsyncSession, **params: Any) -> Any:
        found = await self.rows(session, **params)
        return found[0] if found else None

    async def scalar(self, session: AsyncSession, **params: Any) -> Any:
        row = await self.first(session, **params)
        return row[0] if row is not None else None

    def _compiled(self, session: AsyncSession) -> _Compiled:
        if self._postgresql is None:
            self._postgresql = _Compiled(self.statement, session.bind.dialect)
        return self._postgresql


async def _driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction (remembered for the
    rest of that transaction: looking it up costs as much as a small statement).

    SQLAlchemy's asyncpg adapter begins the database transaction lazily, on its first statement; a
    statement sent past it must begin it the same way, or it would run outside the transaction that
    the session later commits. (Pinned by tests/kit/test_prepared.py, in case the adapter changes.)
    """
    # The innermost transaction too: asking the session for its connection is what begins a savepoint.
    current = (session.get_transaction(), session.get_nested_transaction())
    remembered = session.info.get(_DRIVER)
    if remembered is not None and current[0] is not None and remembered[0] == current:
        adapted = remembered[1]
    else:
        connection = await session.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        session.info[_DRIVER] = ((session.get_transaction(), session.get_nested_transaction()), adapted)
    if not adapted._started:
        await adapted._start_transaction()
    return adapted._connection


_DRIVER = "prepared_driver_connection"


def _translated(error: Exception, sql: str) -> Exception:
    import asyncpg

    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, None, error)
    return error
