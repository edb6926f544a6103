"""mail delivery (issue 21): the outbox's delivery state, key, Message-ID and threading headers; units' mailboxes

Revision ID: 0015_mail_delivery
Revises: 0012_people
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_mail_delivery'
down_revision = '0012_people'  # the head on main when written (the lead re-chains)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('key', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('state', sa.String(length=10), nullable=False, server_default='pending'))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))
        batch.add_column(sa.Column('address', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('in_reply_to', sa.String(length=250), nullable=True))
        batch.add_column(sa.Column('references', sa.Text(), nullable=True))
        batch.add_column(sa.Column('data', sa.JSON(), nullable=True))
        batch.create_unique_constraint('uq_outbox_key', ['key'])
        batch.create_index('ix_outbox_state', ['state'])
        batch.create_index('ix_outbox_message_id', ['message_id'])
    # rows written before delivery existed and marked sent by hand keep that
    op.execute("UPDATE outbox SET state = 'sent' WHERE sent_at IS NOT NULL")
    with op.batch_alter_table('units') as batch:
        batch.add_column(sa.Column('mailbox', sa.String(length=254), nullable=True))
    # placeholders under the reserved .example domain (RFC 2606) until each unit's real functional mailbox is set
    op.execute("UPDATE units SET mailbox = lower(substr(id, 4)) || '@' || municipality || '.example' "
               "WHERE mailbox IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('units') as batch:
        batch.drop_column('mailbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index('ix_outbox_message_id')
        batch.drop_index('ix_outbox_state')
        batch.drop_constraint('uq_outbox_key', type_='unique')
        for column in ('data', 'references', 'in_reply_to', 'address', 'message_id', 'last_error', 'attempts',
                       'state', 'key'):
            batch.drop_column(column)
