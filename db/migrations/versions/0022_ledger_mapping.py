"""the exact quantity of invoice lines and the ledger mapping for the SIE 4I export of billing runs (issue 25), with Kommun-Bas-style defaults

Revision ID: 0022_ledger_mapping
Revises: 0023_files_delivery
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_ledger_mapping'
down_revision = '0023_files_delivery'
branch_labels = None
depends_on = None

# frozen copy of the defaults documented in docs/billing-files.md: (charge kind, cost account, income account)
DEFAULTS = [
    ("rent", "5420", "3511"),            # hyra/leasing av IT-utrustning ↔ intern hyresintäkt
    ("service_fee", "6212", "3512"),     # mobiltelefoni ↔ intern intäkt telefoni
    ("purchase", "5411", "3513"),        # förbrukningsinventarier ↔ intern försäljning
    ("installation", "6540", "3514"),    # IT-tjänster ↔ intern intäkt tjänster
    ("short_term_rent", "5420", "3511"),
    ("on_call", "6540", "3514"),
    ("physical_move", "6540", "3514"),
    ("extra_support", "6540", "3514"),
    ("application", "5460", "3515"),     # licenser och applikationer ↔ intern intäkt applikationer
    ("central_cost", "6540", "3516"),    # gemensam IT-kostnad ↔ intern intäkt central kostnad
]
IT_COST_CENTRE = {"ulricehamn": "UL-IT", "tranemo": "TR-IT"}


def upgrade() -> None:
    # the exact quantity of a line ('1/12', '3/30 + 1'), so quantity × unit price = amount reconciles
    with op.batch_alter_table('invoice_lines') as batch:
        batch.add_column(sa.Column('quantity_exact', sa.String(length=60), nullable=True))
    table = op.create_table('ledger_mappings',
    sa.Column('municipality', sa.String(length=40), nullable=False),
    sa.Column('charge_kind', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('cost_account', sa.String(length=10), nullable=False),
    sa.Column('income_account', sa.String(length=10), nullable=False),
    sa.Column('income_cost_centre', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('municipality', 'charge_kind', 'category')
    )
    # no foreign key to municipalities: they are reference data loaded after migrating
    op.bulk_insert(table, [
        {"municipality": m, "charge_kind": kind, "category": "*", "cost_account": cost, "income_account": income,
         "income_cost_centre": centre}
        for m, centre in IT_COST_CENTRE.items() for kind, cost, income in DEFAULTS])


def downgrade() -> None:
    op.drop_table('ledger_mappings')
    with op.batch_alter_table('invoice_lines') as batch:
        batch.drop_column('quantity_exact')
