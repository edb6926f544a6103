"""a ticket's conversation (messages, attachments) and the support mailbox's inbound mail (issue 21, In)

Revision ID: 0017_ticket_conversation_mail_in
Revises: 0015_mail_delivery
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_ticket_conversation_mail_in'
down_revision = '0015_mail_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_number', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('visible_to_reporter', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=True),
    sa.Column('in_reply_to', sa.String(length=250), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_number', 'seq')
    )
    op.create_index(op.f('ix_ticket_messages_ticket_number'), 'ticket_messages', ['ticket_number'], unique=False)
    op.create_index(op.f('ix_ticket_messages_message_id'), 'ticket_messages', ['message_id'], unique=False)
    op.create_table('ticket_attachments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('ticket_number', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('stored_path', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['ticket_messages.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ticket_attachments_message_id'), 'ticket_attachments', ['message_id'], unique=False)
    op.create_index(op.f('ix_ticket_attachments_ticket_number'), 'ticket_attachments', ['ticket_number'],
                    unique=False)
    op.create_table('inbound_mail',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=250), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('ticket_number', sa.String(length=40), nullable=True),
    sa.Column('reporter_ref', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_inbound_mail_received_at'), 'inbound_mail', ['received_at'], unique=False)
    op.create_index(op.f('ix_inbound_mail_state'), 'inbound_mail', ['state'], unique=False)
    op.create_index(op.f('ix_inbound_mail_ticket_number'), 'inbound_mail', ['ticket_number'], unique=False)


def downgrade() -> None:
    op.drop_table('inbound_mail')
    op.drop_table('ticket_attachments')
    op.drop_table('ticket_messages')
