"""Alembic, driven from code so `hookline db upgrade` works from any directory."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from hookline.config import sqlalchemy_url

# Inside the package, so an installed wheel can migrate; alembic.ini names the same place.
MIGRATIONS = "hookline:migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


# Row-level security backs up the `WHERE tenant_id = …` of every query: a session sees only the
# rows of the tenant in `app.tenant_id` (set per transaction by hookline.db.tenant_session).
# FORCE makes it bind the table owner too; superusers and BYPASSRLS roles still bypass it.
TENANT_MATCH = "tenant_id = nullif(current_setting('app.tenant_id', true), '')::bigint"


def enable_tenant_isolation(op, *tables: str) -> None:  # noqa: ANN001 - alembic.op is a module proxy
    """Every migration that creates a tenant-owned table calls this for it."""
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_MATCH}) WITH CHECK ({TENANT_MATCH})")


def disable_tenant_isolation(op, *tables: str) -> None:  # noqa: ANN001
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
