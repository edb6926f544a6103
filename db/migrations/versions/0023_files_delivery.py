"""files for the economy, payroll and ordering systems and their receipts (issue 25); employment numbers;
salary-deduction refusals; call-off order responses

Revision ID: 0023_files_delivery
Revises: 0019_device_import
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_files_delivery'
down_revision = '0019_device_import'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('file_deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('media_type', sa.String(length=80), nullable=False),
    sa.Column('municipality', sa.String(length=20), nullable=True),
    sa.Column('period', sa.String(length=20), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('destination', sa.String(length=300), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('system', 'file_name', name='uq_file_deliveries_system_name')
    )
    op.create_index('ix_file_deliveries_system', 'file_deliveries', ['system'])
    op.create_index('ix_file_deliveries_municipality', 'file_deliveries', ['municipality'])
    op.create_index('ix_file_deliveries_state', 'file_deliveries', ['state'])
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('employment_number', sa.String(length=40), nullable=True))
    with op.batch_alter_table('salary_deductions') as batch:
        batch.add_column(sa.Column('paxml_file_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('refused_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('refused_by', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('refusal_reason', sa.String(length=500), nullable=True))
    with op.batch_alter_table('call_offs') as batch:
        batch.add_column(sa.Column('order_file_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('response_code', sa.String(length=4), nullable=True))
        batch.add_column(sa.Column('response_note', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('response_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call_offs') as batch:
        for column in ('response_at', 'response_note', 'response_code', 'order_file_id'):
            batch.drop_column(column)
    with op.batch_alter_table('salary_deductions') as batch:
        for column in ('refusal_reason', 'refused_by', 'refused_at', 'paxml_file_id'):
            batch.drop_column(column)
    with op.batch_alter_table('people') as batch:
        batch.drop_column('employment_number')
    op.drop_index('ix_file_deliveries_state', table_name='file_deliveries')
    op.drop_index('ix_file_deliveries_municipality', table_name='file_deliveries')
    op.drop_index('ix_file_deliveries_system', table_name='file_deliveries')
    op.drop_table('file_deliveries')
