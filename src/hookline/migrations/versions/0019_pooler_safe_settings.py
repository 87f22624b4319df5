"""Custom plans are the database's default, no longer asked for by each connection's startup `options`.

Every Hookline connection plans each statement for the table as it is now
(`plan_cache_mode = force_custom_plan`; docs/architecture.md says why). It used to send that in its
libpq `options` at connect, which PgBouncer refuses ("unsupported startup parameter: options";
1.20+ accepts only the few parameters it tracks there). A setting of the database (or of the role
in this database) is applied by PostgreSQL itself to every session it starts, including the
server connections a pooler opens and hands from client to client.

`ALTER DATABASE … SET` needs the database's owner, which is Hookline's own role wherever it made
the database (the tests, `hookline dev`): it then binds every role that connects. A migrating role
that does not own the database sets it for itself in this database (`ALTER ROLE CURRENT_USER IN
DATABASE`), which any role may do: run the migrations as the role the app connects as, or set it
for that role by hand (docs/operations.md). Sessions opened before the upgrade keep their value.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def _database_or_role(action: str) -> str:
    """A DO block: `action` (SET … / RESET …) for the database if this role may, else for this role in it."""
    return f"""
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I {action}', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    EXECUTE format('ALTER ROLE %I IN DATABASE %I {action}', current_user, current_database());
END
$$
"""


def upgrade() -> None:
    op.execute(_database_or_role("SET plan_cache_mode = force_custom_plan"))


def downgrade() -> None:
    op.execute(_database_or_role("RESET plan_cache_mode"))
