"""units with a history (issue 22, reorganisations): valid_from, closed_on, merged_into and the names over time

Revision ID: 0024_unit_history
Revises: 0021_search_indexes
"""
from alembic import op
import sqlalchemy as sa


revision = '0024_unit_history'
down_revision = '0021_search_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('units') as batch:
        batch.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('merged_into', sa.String(length=40), nullable=True))
        batch.create_foreign_key('fk_units_merged_into', 'units', ['merged_into'], ['id'])
    op.create_table('unit_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_unit_history_unit_id'), 'unit_history', ['unit_id'], unique=False)
    # the seeded units' names so far (valid since before Ramflow: no valid_from)
    op.execute("INSERT INTO unit_history (unit_id, name) SELECT id, name FROM units")


def downgrade() -> None:
    op.drop_index(op.f('ix_unit_history_unit_id'), table_name='unit_history')
    op.drop_table('unit_history')
    with op.batch_alter_table('units') as batch:
        batch.drop_constraint('fk_units_merged_into', type_='foreignkey')
        batch.drop_column('merged_into')
        batch.drop_column('closed_on')
        batch.drop_column('valid_from')
