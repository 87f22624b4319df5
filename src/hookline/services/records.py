"""Rows mirrored from a provider, and the ordering rule that keeps them right when events come
out of order or twice: the newer version wins, a delete leaves a tombstone, a duplicate writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, String, and_, bindparam, cast, column, func, literal_column, or_, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session

from hookline.models.base import SyncedRecord

RecordT = TypeVar("RecordT", bound=SyncedRecord)
_DIALECT = psycopg_dialect()  # the engine's (db.py: postgresql+psycopg)


@dataclass(frozen=True)
class Change:
    """One provider event about one record, in Hookline's column names."""

    provider: str
    external_id: str
    version: datetime  # the provider's time of this change (services/crm.py says which)
    values: dict[str, Any]  # every column the event knows; what a new row is made of
    fields: frozenset[str] | None = None  # a partial event updates only these columns; None: all of values
    delete: bool = False


def apply(session: Session, tenant_id: int, model: type[SyncedRecord], change: Change) -> int | None:
    """Insert or update the row (tenant_id, provider, external_id) if `change` is newer than it.

    Returns the row's id, or None when the change was dropped: older than the row's
    `source_version`, no newer than its delete, or identical to what is stored (a duplicate).
    One statement, so two workers applying events of one record serialise on the row.
    A delete keeps the row as a tombstone (`deleted_at`), which is what a late create finds.
    """
    row = {} if change.delete else dict(change.values)
    updated = () if change.delete else tuple(sorted(change.fields if change.fields is not None else row))
    upsert = _upsert(model, change.delete, tuple(sorted(row)), updated)  # type: ignore[arg-type]  # mypy: a class is Hashable
    params = {**upsert.defaults, "tenant_id": tenant_id, "provider": change.provider,
              "external_id": change.external_id, "source_version": change.version,
              "deleted_at": change.version if change.delete else None, **row}
    for name in upsert.jsonb:  # as SQLAlchemy's JSONB type binds them: None too becomes JSON null
        params[name] = Jsonb(params[name])
    return session.connection().exec_driver_sql(upsert.sql, params).scalar_one_or_none()


def apply_many(session: Session, tenant_id: int, model: type[SyncedRecord], changes: list[Change]) -> int:
    """`apply` for a page of full records (same columns, no deletes) in one statement; the rows written.

    Each row gets exactly the rule `apply` gives it. A record twice in the page keeps its newest
    change (PostgreSQL updates a row once per statement).
    """
    newest: dict[str, Change] = {}
    for change in changes:
        if change.delete or change.fields is not None:
            raise ValueError("apply_many takes full records only: apply a delete or a partial change on its own")
        if change.external_id not in newest or change.version > newest[change.external_id].version:
            newest[change.external_id] = change
    if not newest:
        return 0
    rows = list(newest.values())
    upsert = _upsert_many(model, tuple(sorted(rows[0].values)))  # type: ignore[arg-type]  # mypy: a class is hashable
    common = {"tenant_id": tenant_id, "deleted_at": None, **upsert.defaults}
    page = [{**common, "provider": change.provider, "external_id": change.external_id,
             "source_version": change.version, **change.values} for change in rows]
    statement = session.connection().exec_driver_sql(upsert.sql, {"rows": json.dumps(page, default=_json_value)})
    return len(statement.fetchall())


def _json_value(value: Any) -> Any:
    """What `json` cannot write itself, as PostgreSQL reads it back into the column's type."""
    if isinstance(value, date | time):  # datetime too: ISO 8601 keeps its offset
        return value.isoformat()
    if isinstance(value, Decimal):  # a string: a float would round it
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value apply_many can send")


def _ordering_rule(statement: Any, table: Any, delete: bool, updated: tuple[str, ...]) -> Any:
    """`statement` (an INSERT) + ON CONFLICT DO UPDATE … WHERE newer and different, RETURNING id."""
    new = statement.excluded
    columns = ["source_version", "deleted_at", *updated]
    stored_version = table.c.source_version
    if delete:  # a delete wins a tie: an update at the same instant is not proof of life
        newer = new.source_version >= stored_version
    else:
        newer = or_(new.source_version > stored_version,
                    and_(new.source_version == stored_version, table.c.deleted_at.is_(None)))
    changed = tuple_(*(table.c[c] for c in columns)).is_distinct_from(tuple_(*(new[c] for c in columns)))
    return statement.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.provider, table.c.external_id],
        set_={**{c: new[c] for c in columns}, "updated_at": func.now()},
        where=and_(or_(stored_version.is_(None), newer), changed),
    ).returning(table.c.id)


@dataclass(frozen=True)
class _Upsert:
    sql: str  # parameters named after their columns
    defaults: dict[str, Any]  # the model's Python-side defaults of the columns the change leaves out
    jsonb: tuple[str, ...]  # parameters bound as JSONB


@lru_cache(maxsize=256)
def _upsert(model: type[SyncedRecord], delete: bool, inserted: tuple[str, ...], updated: tuple[str, ...]) -> _Upsert:
    """apply's statement for one shape of change (record, delete, columns), built and compiled once.

    Building, keying and compiling the statement for every event cost more CPU than all the
    rest of a webhook's processing; with its SQL kept, an event costs a dict of parameters.
    """
    table = model.__table__  # type: ignore[attr-defined]  # a SyncedRecord mixin is always in a mapped model
    keys = ("tenant_id", "provider", "external_id", "source_version", "deleted_at", *inserted)
    defaults = _defaults(table, keys)
    statement = insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in (*keys, *defaults)})
    statement = _ordering_rule(statement, table, delete, updated)
    jsonb = tuple(name for name in (*keys, *defaults) if isinstance(table.c[name].type, JSONB))
    return _Upsert(str(statement.compile(dialect=_DIALECT)), defaults, jsonb)


@lru_cache(maxsize=64)
def _upsert_many(model: type[SyncedRecord], columns: tuple[str, ...]) -> _Upsert:
    """apply_many's statement: the page is one JSON parameter, read into rows by `json_to_recordset`,
    so its SQL is the same for any number of rows, built and compiled once.

    A VALUES list of every row's parameters was rendered, converted and parsed again for each
    page (~45 ms a page of 100 contacts against ~28 ms, bench/sync.py). Then one array a column
    (`unnest`): psycopg writes arrays element by element in Python, ~30% of a worker process's
    time applying a batch (py-spy, bench/end_to_end.py); `json.dumps` writes the page in C.
    A JSON null in a JSONB column is NULL to json_to_recordset: COALESCE makes it the JSON null
    `apply` stores for None.
    """
    table = model.__table__  # type: ignore[attr-defined]  # the mapped subclasses have one; the mixin does not
    keys = ("tenant_id", "provider", "external_id", "source_version", "deleted_at", *columns)
    defaults = _defaults(table, keys)
    names = (*keys, *defaults)
    page = func.json_to_recordset(cast(bindparam("rows"), JSON)).table_valued(
        *(column(name, _unbounded(table.c[name].type)) for name in names)).render_derived(with_types=True)
    values = (func.coalesce(page.c[name], literal_column("'null'::jsonb")) if isinstance(table.c[name].type, JSONB)
              else page.c[name] for name in names)
    statement = insert(table).from_select(names, select(*values))
    statement = _ordering_rule(statement, table, False, columns)
    return _Upsert(str(statement.compile(dialect=_DIALECT)), defaults, ())


def _unbounded(type_: Any) -> Any:
    """A string type without its length: the arrays' cast must not cut a value the column refuses."""
    return String() if isinstance(type_, String) and type_.length else type_


def _defaults(table: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The model's Python-side defaults of the columns not in `keys`."""
    return {column.name: column.default.arg if column.default.is_scalar else column.default.arg(None)
            for column in table.c if column.default is not None and column.name not in keys}


def reference(session: Session, tenant_id: int, model: type[SyncedRecord], provider: str, external_id: str | None,
              **values: Any) -> int | None:
    """The id of the row a record points at (a pipeline, a calendar), made bare if it is not there yet."""
    if external_id is None:
        return None
    key = {"tenant_id": tenant_id, "provider": provider, "external_id": external_id}
    session.execute(insert(model).values(**key, **values).on_conflict_do_nothing(
        index_elements=[model.tenant_id, model.provider, model.external_id]))
    return session.scalars(select(model.id).filter_by(**key)).one()


def find(session: Session, tenant_id: int, model: type[RecordT], external_id: str, *,
         provider: str = "ghl") -> RecordT | None:
    """The row, tombstone or not (`deleted_at` says which)."""
    return session.scalars(select(model).where(
        model.tenant_id == tenant_id, model.provider == provider, model.external_id == external_id
    )).one_or_none()


def live(session: Session, tenant_id: int, model: type[RecordT], limit: int = 100) -> list[RecordT]:
    """The tenant's rows that are not deleted, most recently changed first."""
    return list(session.scalars(
        select(model).where(model.tenant_id == tenant_id, model.deleted_at.is_(None))
        .order_by(model.updated_at.desc(), model.id.desc()).limit(limit)
    ))
