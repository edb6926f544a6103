"""the people register: employee number ↔ token subject, name, mail address, language, unit (issues 20-22)

Revision ID: 0012_people
Revises: 0011_console_sessions
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_people'
down_revision = '0011_console_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('people',
    sa.Column('employee_ref', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
    sa.PrimaryKeyConstraint('employee_ref'),
    sa.UniqueConstraint('subject')
    )


def downgrade() -> None:
    op.drop_table('people')
