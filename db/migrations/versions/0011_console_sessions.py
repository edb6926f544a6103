"""console sessions and pending sign-ins in the database, shared by every API process (issue 14)

Revision ID: 0011_console_sessions
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_console_sessions'
down_revision = '0005'  # the head when written; billing's 0010_billing_extra_support may come in between
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_token', sa.LargeBinary(), nullable=False),
    sa.Column('principal', sa.JSON(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('flash', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_hash')
    )
    op.create_index('ix_console_sessions_expires_at', 'console_sessions', ['expires_at'])
    op.create_table('console_logins',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_hash')
    )
    op.create_index('ix_console_logins_expires_at', 'console_logins', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_console_logins_expires_at', table_name='console_logins')
    op.drop_table('console_logins')
    op.drop_index('ix_console_sessions_expires_at', table_name='console_sessions')
    op.drop_table('console_sessions')
