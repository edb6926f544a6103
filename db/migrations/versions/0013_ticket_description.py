"""the registers keep what a create accepted (issue 20: it was dropped): a ticket's description and TK-8/TK-7
answers, a short-term laptop's rental weeks

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
        batch.add_column(sa.Column('affects_operations', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('cannot_wait', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('unit_started_troubleshooting', sa.Boolean(), nullable=True))
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('rental_weeks', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('rental_weeks')
    with op.batch_alter_table('tickets') as batch:
        for name in ('unit_started_troubleshooting', 'cannot_wait', 'affects_operations', 'description'):
            batch.drop_column(name)
