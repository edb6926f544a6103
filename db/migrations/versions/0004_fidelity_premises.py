"""premises projects (FC-1 … FC-4) and the catalogue's form factor (EQ-5 replacement keeps the kind)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# rule EQ-5: the seeded models' form factor, so a running register's replacements keep the kind
FORM_FACTORS = {"LAT-5450": "laptop", "OPT-7020": "desktop", "TP-E14": "laptop", "CB-314": "laptop",
                "LOAN-LAT": "laptop"}


def upgrade() -> None:
    with op.batch_alter_table('catalogue_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_factor', sa.String(length=20), nullable=True))
    models = sa.table('catalogue_models', sa.column('code', sa.String), sa.column('form_factor', sa.String))
    for code, form_factor in FORM_FACTORS.items():
        op.execute(models.update().where(models.c.code == code).values(form_factor=form_factor))

    op.create_table('premises_projects',
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('workflow_id', sa.String(length=80), nullable=False),
    sa.Column('municipality', sa.String(length=20), nullable=False),
    sa.Column('site_name', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=True),
    sa.Column('property_owner', sa.String(length=120), nullable=False),
    sa.Column('site_class', sa.String(length=30), nullable=False),
    sa.Column('power_requirement', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('connection_delivered', sa.Boolean(), nullable=False),
    sa.Column('power_requirement_met', sa.Boolean(), nullable=False),
    sa.Column('requirements', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('project_id')
    )
    with op.batch_alter_table('premises_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premises_projects_municipality'), ['municipality'], unique=False)
        batch_op.create_index(batch_op.f('ix_premises_projects_state'), ['state'], unique=False)

    op.create_table('premises_transitions',
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=40), nullable=False),
    sa.Column('to_state', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['premises_projects.project_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'seq')
    )
    with op.batch_alter_table('premises_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premises_transitions_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('premises_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premises_transitions_project_id'))
    op.drop_table('premises_transitions')
    with op.batch_alter_table('premises_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premises_projects_state'))
        batch_op.drop_index(batch_op.f('ix_premises_projects_municipality'))
    op.drop_table('premises_projects')
    with op.batch_alter_table('catalogue_models', schema=None) as batch_op:
        batch_op.drop_column('form_factor')
