"""Fewer indexes to write on the hot path: every index a row is in is written at each insert and
at each update that is not HOT, and `take` (status pending → processed) is never HOT.

webhook_events:
- `ix_webhook_events_status` (every row of every tenant, by status) becomes two partial indexes:
  the pending rows by (tenant_id, id), which is how the relay and the sweeper read them (one
  tenant, pending, by id, SKIP LOCKED), and the failed rows by (tenant_id, received_at), which is
  how `events replay --failed` reads them. A processed or ignored row, nearly every row, is in
  neither.
- `ix_webhook_events_tenant_id` goes: the unique (tenant_id, provider, dedupe_key) and
  (tenant_id, received_at) both lead with tenant_id.

The synced CRM tables: their `ix_<table>_tenant_id` goes, for the same reason: the unique
(tenant_id, provider, external_id) leads with it.

`status = '…'` is a leakproof comparison, so row-level security does not keep a query from
these partial indexes (see migration 0011).

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

SYNCED = ["contacts", "pipelines", "pipeline_stages", "deals", "calendars", "appointments",
          "residential_projects", "residential_offers", "notes", "crm_tasks"]


def upgrade() -> None:
    op.create_index("ix_webhook_events_pending", "webhook_events", ["tenant_id", "id"],
                    postgresql_where="status = 'pending'")
    op.create_index("ix_webhook_events_failed", "webhook_events", ["tenant_id", "received_at"],
                    postgresql_where="status = 'failed'")
    op.drop_index("ix_webhook_events_status", table_name="webhook_events")
    op.drop_index("ix_webhook_events_tenant_id", table_name="webhook_events")
    for table in SYNCED:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_tenant_id")


def downgrade() -> None:
    for table in SYNCED:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_tenant_id ON {table} (tenant_id)")
    op.create_index("ix_webhook_events_tenant_id", "webhook_events", ["tenant_id"])
    op.create_index("ix_webhook_events_status", "webhook_events", ["status"])
    op.drop_index("ix_webhook_events_failed", table_name="webhook_events")
    op.drop_index("ix_webhook_events_pending", table_name="webhook_events")
