"""billing: runs, invoice bases and lines, the service price list and the central cost (rules BL-1 … BL-6);
the 950/650 SEK on-call and move rates of config move into the price list of the year (TK-8, TK-12)

Revision ID: 0005
Revises: 0009
Create Date: 2026-11-28 10:00:00
"""
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0009'
branch_labels = None
depends_on = None

# The placeholders that were config.Settings.on_call_hourly_rate / move_hourly_rate, as the 2026 list
# (a later year without a list of its own uses the latest earlier one, rule AG-5).
SERVICE_PRICES_2026 = [
    (2026, "on_call", "hour", Decimal("950.00"), "rule TK-8: on-call work, per started half hour"),
    (2026, "physical_move", "hour", Decimal("650.00"), "rule TK-12: physical move ordered from IT"),
    (2026, "extra_support", "hour", Decimal("650.00"), "rule EQ-13: extra support beyond the service fee"),
]


def upgrade() -> None:
    service_prices = op.create_table('service_prices',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('article', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('year', 'article')
    )
    op.bulk_insert(service_prices, [dict(year=y, article=a, unit=u, unit_price=p, description=d)
                                    for y, a, u, p, d in SERVICE_PRICES_2026])
    op.create_table('central_costs',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('year', 'unit_id')
    )
    op.create_table('billing_runs',
    sa.Column('run_id', sa.String(length=80), nullable=False),
    sa.Column('municipality', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['municipality'], ['municipalities.code'], ),
    sa.PrimaryKeyConstraint('run_id')
    )
    with op.batch_alter_table('billing_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_runs_municipality'), ['municipality'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_runs_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_runs_status'), ['status'], unique=False)
    op.create_table('invoice_bases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('municipality', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.String(length=40), nullable=False),
    sa.Column('run_id', sa.String(length=80), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['municipality'], ['municipalities.code'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('municipality', 'period', 'unit_id')
    )
    with op.batch_alter_table('invoice_bases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_bases_municipality'), ['municipality'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_bases_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_bases_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_bases_unit_id'), ['unit_id'], unique=False)
    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('basis_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('article', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('order_number', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('adjusts_period', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['basis_id'], ['invoice_bases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('basis_id', 'key')
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_basis_id'), ['basis_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_lines_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_lines_order_number'), ['order_number'], unique=False)


def downgrade() -> None:
    op.drop_table('invoice_lines')
    op.drop_table('invoice_bases')
    op.drop_table('billing_runs')
    op.drop_table('central_costs')
    op.drop_table('service_prices')
