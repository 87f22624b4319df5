"""Connection secrets sealed at rest (secrets_box), and recordings.updated_at for the recordings sweep.

Data migration: every plaintext value in connections.secrets becomes {"enc": "<Fernet token>"}
under the first key of HOOKLINE_SECRET_KEYS; values sealed already are left alone, so running it
again changes nothing. The downgrade opens them again (the older code reads plaintext).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from hookline.services.tenants import seal_plaintext_secrets

    seal_plaintext_secrets(op.get_bind())
    # The last time anything happened to a recording: the sweep publishes again one idle too long.
    op.add_column('recordings', sa.Column('updated_at', sa.DateTime(timezone=True),
                                          server_default=sa.text('now()'), nullable=False))
    op.create_index('ix_recordings_tenant_id_status_updated_at', 'recordings', ['tenant_id', 'status', 'updated_at'])


def downgrade() -> None:
    from hookline.secrets_box import unseal_values
    from hookline.services.tenants import rewrite_all_secrets

    op.drop_index('ix_recordings_tenant_id_status_updated_at', table_name='recordings')
    op.drop_column('recordings', 'updated_at')
    rewrite_all_secrets(op.get_bind(), unseal_values)
