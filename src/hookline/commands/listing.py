"""What the listing commands share: the tenants to read (one at a time: row-level security), the
newest rows across them, one row by id, and the table and column printers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.services.tenants import get_by_slug

TENANT_HELP = "The tenant's slug (see `hookline tenants list`); default: every tenant."

# A table column: its heading and a format spec for its cells (">6": right-aligned in 6, "" for the last).
Column = tuple[str, str]


def tenants(slug: str | None) -> list[Tenant]:
    """The tenant with this slug, else every tenant: tenant tables can only be read one tenant at a time."""
    from hookline.cli import _use_database

    _use_database()
    with global_session() as session:
        if slug is None:
            return list(session.scalars(select(Tenant).order_by(Tenant.id)))
        tenant = get_by_slug(session, slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return [tenant]


def newest(slug: str | None, fetch: Callable[[Session, int], list[Any]], moment: str) -> list[tuple[Tenant, Any]]:
    """Each tenant's rows from `fetch` (its newest few), merged newest first by the column `moment`."""
    rows: list[tuple[Tenant, Any]] = []
    for tenant in tenants(slug):
        with tenant_session(tenant.id) as session:
            rows += [(tenant, row) for row in fetch(session, tenant.id)]
    rows.sort(key=lambda pair: (getattr(pair[1], moment), pair[1].id), reverse=True)
    return rows


def find(slug: str | None, row_id: int, get: Callable[[Session, int, int], Any], what: str) -> tuple[Tenant, Any]:
    """Row `row_id` (`get(session, tenant_id, row_id)`) of the tenant with this slug, else looked up
    tenant by tenant; a clear error naming `what` when no tenant has it."""
    for tenant in tenants(slug):
        with tenant_session(tenant.id) as session:
            row = get(session, tenant.id, row_id)
        if row is not None:
            return tenant, row
    raise click.ClickException(f"no {what} {row_id}" + (f" for tenant {slug}" if slug else ""))


def echo_newest(slug: str | None, fetch: Callable[[Session, int], list[Any]], moment: str, *, limit: int,
                columns: Sequence[Column], cells: Callable[[Tenant, Any], Sequence[Any]], noun: str) -> None:
    """The `limit` newest rows across the tenants (see `newest`) as a table of `cells(tenant, row)`."""
    rows = newest(slug, fetch, moment)[:limit]
    echo_table(columns, [cells(tenant, row) for tenant, row in rows],
               empty=f"no {noun}" + (f" for {slug}" if slug else ""))


def echo_table(columns: Sequence[Column], lines: Iterable[Sequence[Any]], *, empty: str) -> None:
    """A heading line, then one line per row of cells (None shows as "-"); `empty` alone when no rows."""
    lines = list(lines)
    if not lines:
        click.echo(empty)
        return
    click.echo(_line([heading for heading, _ in columns], columns))
    for cells in lines:
        click.echo(_line(cells, columns))


def _line(cells: Sequence[Any], columns: Sequence[Column]) -> str:
    return "  ".join(f"{'-' if cell is None else str(cell):{spec}}"
                     for cell, (_, spec) in zip(cells, columns, strict=True)).rstrip()


def echo_columns(tenant: Tenant, row: Any, *, skip: tuple[str, ...] = (), width: int = 14) -> None:
    """One `column: value` line per column of a tenant's row, times in UTC, the tenant by slug."""
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        if column.key == "tenant_id":
            value = f"{tenant.slug} ({tenant.id})"
        elif isinstance(value, datetime):
            value = utc(value)
        click.echo(f"{column.key + ':':<{width}}{'-' if value is None else value}")


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def shorten(error: str | None, width: int = 60) -> str:
    """One line of at most `width` characters; "-" for none."""
    if not error:
        return "-"
    line = " ".join(error.split())
    return line if len(line) <= width else line[: width - 1] + "…"
