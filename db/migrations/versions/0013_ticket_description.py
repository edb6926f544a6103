"""the ticket register keeps the reporter's description (issue 20: it was accepted and dropped)

Revision ID: 0013_ticket_description
Revises: 0011_console_sessions
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_ticket_description'
down_revision = '0011_console_sessions'  # the lead re-chains at merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('description', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('description')
