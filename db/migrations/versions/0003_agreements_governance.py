"""application agreements, price list, services, framework versions and governance processes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27 22:40:00

A branch of its own from 0001 (0002 adds the tickets); `db.migrate.upgrade` goes to "heads".
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('application_prices',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('component', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('set_by', sa.String(length=80), nullable=False),
    sa.Column('framework_version_id', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('year', 'item')
    )
    op.create_table('agreements',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('application', sa.String(length=200), nullable=False),
    sa.Column('application_kind', sa.String(length=30), nullable=False),
    sa.Column('variant', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=False),
    sa.Column('system_owner_ref', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=True),
    sa.Column('terminated_on', sa.Date(), nullable=True),
    sa.Column('termination_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_unit_id'), ['unit_id'], unique=False)

    op.create_table('agreement_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agreement_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('for_year', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('price_year', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('approved_by', sa.JSON(), nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_id', 'version'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('agreement_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_versions_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_cost_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agreement_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('component', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('price_year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_id', 'version', 'item')
    )
    with op.batch_alter_table('agreement_cost_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_cost_lines_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('service_definitions',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('component', sa.String(length=40), nullable=True),
    sa.Column('unit', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('for_year', sa.Integer(), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('workflow_id', sa.String(length=80), nullable=True),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('service_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_definitions_status'), ['status'], unique=False)

    op.create_table('framework_versions',
    sa.Column('id', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('minutes_ref', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('framework_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_framework_versions_effective_from'), ['effective_from'], unique=False)

    op.create_table('framework_decisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=False),
    sa.Column('proposal_id', sa.String(length=60), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=80), nullable=False),
    sa.Column('municipality', sa.String(length=40), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('minutes_ref', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id', 'seq')
    )
    with op.batch_alter_table('framework_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_framework_decisions_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_framework_decisions_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('governance_processes',
    sa.Column('workflow_id', sa.String(length=80), nullable=False),
    sa.Column('process', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id')
    )
    with op.batch_alter_table('governance_processes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_governance_processes_process'), ['process'], unique=False)
        batch_op.create_index(batch_op.f('ix_governance_processes_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_governance_processes_subject'), ['subject'], unique=False)

    op.create_table('governance_transitions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=40), nullable=False),
    sa.Column('to_state', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id', 'seq')
    )
    with op.batch_alter_table('governance_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_governance_transitions_workflow_id'), ['workflow_id'], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ('governance_transitions', ['ix_governance_transitions_workflow_id']),
        ('governance_processes', ['ix_governance_processes_subject', 'ix_governance_processes_state',
                                  'ix_governance_processes_process']),
        ('framework_decisions', ['ix_framework_decisions_workflow_id', 'ix_framework_decisions_proposal_id']),
        ('framework_versions', ['ix_framework_versions_effective_from']),
        ('service_definitions', ['ix_service_definitions_status']),
        ('agreement_cost_lines', ['ix_agreement_cost_lines_agreement_id']),
        ('agreement_versions', ['ix_agreement_versions_agreement_id']),
        ('agreements', ['ix_agreements_unit_id', 'ix_agreements_status']),
        ('application_prices', []),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
