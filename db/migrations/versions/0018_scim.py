"""SCIM provisioning of the people register, leavers' device flags and movers' pending moves (issue 22)

Revision ID: 0018_scim
Revises: 0017_ticket_conversation_mail_in
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_scim'
down_revision = '0017_ticket_conversation_mail_in'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('scim_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('user_name', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('external_id', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('department', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('manager_ref', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('scim_resource', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('scim_version', sa.Integer(), nullable=False, server_default='0'))
        batch.create_unique_constraint('uq_people_scim_id', ['scim_id'])
        batch.create_unique_constraint('uq_people_user_name', ['user_name'])
        batch.create_index('ix_people_external_id', ['external_id'])
    op.create_table('device_return_flags',
    sa.Column('order_number', sa.String(length=40), nullable=False),
    sa.Column('employee_ref', sa.String(length=40), nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=False),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['order_number'], ['devices.order_number']),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
    sa.PrimaryKeyConstraint('order_number')
    )
    op.create_index('ix_device_return_flags_employee_ref', 'device_return_flags', ['employee_ref'])
    op.create_index('ix_device_return_flags_unit_id', 'device_return_flags', ['unit_id'])
    op.create_table('person_moves',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employee_ref', sa.String(length=40), nullable=False),
    sa.Column('from_unit_id', sa.String(length=40), nullable=False),
    sa.Column('to_unit_id', sa.String(length=40), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('devices', sa.JSON(), nullable=False),
    sa.Column('confirmed_by', sa.String(length=80), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['from_unit_id'], ['units.id']),
    sa.ForeignKeyConstraint(['to_unit_id'], ['units.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_person_moves_employee_ref', 'person_moves', ['employee_ref'])
    op.create_index('ix_person_moves_from_unit_id', 'person_moves', ['from_unit_id'])


def downgrade() -> None:
    op.drop_table('person_moves')
    op.drop_table('device_return_flags')
    with op.batch_alter_table('people') as batch:
        batch.drop_index('ix_people_external_id')
        batch.drop_constraint('uq_people_user_name', type_='unique')
        batch.drop_constraint('uq_people_scim_id', type_='unique')
        for column in ('scim_version', 'scim_resource', 'manager_ref', 'department', 'external_id', 'user_name',
                       'scim_id'):
            batch.drop_column(column)
