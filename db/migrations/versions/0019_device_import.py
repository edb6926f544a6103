"""the device register's import (issue 22): imports by file hash and their rows

Revision ID: 0019_device_import
Revises: 0018_scim
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_device_import'
down_revision = '0018_scim'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_imports',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('cutover', sa.Date(), nullable=False),
    sa.Column('skip_invalid', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('device_import_rows',
    sa.Column('import_id', sa.String(length=64), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('order_number', sa.String(length=40), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('renewal_not_before', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['device_imports.id']),
    sa.PrimaryKeyConstraint('import_id', 'row')
    )
    op.create_index('ix_device_import_rows_order_number', 'device_import_rows', ['order_number'])
    op.create_index('ix_device_import_rows_outcome', 'device_import_rows', ['outcome'])


def downgrade() -> None:
    op.drop_index('ix_device_import_rows_outcome', table_name='device_import_rows')
    op.drop_index('ix_device_import_rows_order_number', table_name='device_import_rows')
    op.drop_table('device_import_rows')
    op.drop_table('device_imports')
