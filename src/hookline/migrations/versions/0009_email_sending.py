"""Email sending: the outbox's due time, and each tenant's sender name and Reply-To.

Revision ID: 0009
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('email_outbox', sa.Column('due_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                                            nullable=False))
    op.add_column('tenants', sa.Column('email_sender_name', sa.String(length=200), nullable=True))
    op.add_column('tenants', sa.Column('email_reply_to', sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column('tenants', 'email_reply_to')
    op.drop_column('tenants', 'email_sender_name')
    op.drop_column('email_outbox', 'due_at')
