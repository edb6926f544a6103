"""rate-limit windows shared by every API process (issue 20)

Revision ID: 0014_refusal_anchor_limits
Revises: 0012_people
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_refusal_anchor_limits'
down_revision = '0012_people'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limit_windows',
    sa.Column('key', sa.String(length=210), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start')
    )
    op.create_index('ix_rate_limit_windows_window_start', 'rate_limit_windows', ['window_start'])


def downgrade() -> None:
    op.drop_index('ix_rate_limit_windows_window_start', table_name='rate_limit_windows')
    op.drop_table('rate_limit_windows')
