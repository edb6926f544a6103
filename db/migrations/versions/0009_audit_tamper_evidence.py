"""auditors' records: hash chain on every audit log, history archive, refused attempts, append-only on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 09:45:00

Issue 11. Depends on 0002 too (ticket and service-request audit logs). Existing lines get their chain
computed here; on PostgreSQL triggers then refuse UPDATE, DELETE and TRUNCATE of every audit table,
whatever role the application connects with.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = ('0002',)

# audit-log table -> the column naming its process
AUDIT_LOGS = {
    'device_transitions': 'order_number',
    'ticket_transitions': 'number',
    'service_request_transitions': 'number',
    'governance_transitions': 'workflow_id',
    'premises_transitions': 'project_id',  # 0004 (rule fidelity): premises projects
}
APPEND_ONLY = (*AUDIT_LOGS, 'history_archive', 'refused_attempts')


def upgrade() -> None:
    for table in AUDIT_LOGS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_lines()
    op.create_table('history_archive',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.String(length=80), nullable=False),
    sa.Column('workflow_type', sa.String(length=80), nullable=False),
    sa.Column('business_key', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('first_event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('history_sha256', sa.String(length=64), nullable=False),
    sa.Column('history_gz', sa.LargeBinary(), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('prev_hash'),
    sa.UniqueConstraint('workflow_id', 'run_id')
    )
    with op.batch_alter_table('history_archive', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_archive_workflow_id'), ['workflow_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_archive_workflow_type'), ['workflow_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_archive_business_key'), ['business_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_archive_last_event_at'), ['last_event_at'], unique=False)
    op.create_table('refused_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('claimed_subject', sa.String(length=120), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('client', sa.String(length=80), nullable=True),
    sa.Column('event', sa.String(length=60), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('prev_hash')
    )
    with op.batch_alter_table('refused_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refused_attempts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refused_attempts_workflow_id'), ['workflow_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refused_attempts_actor'), ['actor'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE OR REPLACE FUNCTION ramflow_audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit records are append-only: % on % refused (issue 11)', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$ LANGUAGE plpgsql""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION ramflow_audit_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION ramflow_audit_append_only()")


def _chain_existing_lines() -> None:
    """Lines written before this revision get their chain now (in seq order per process)."""
    from domain.audit import GENESIS, AUDIT_LINE_FIELDS, audit_line_content, link_hash

    bind = op.get_bind()
    for table_name, key_column in AUDIT_LOGS.items():
        table = sa.Table(table_name, sa.MetaData(), autoload_with=bind)
        rows = bind.execute(sa.select(table).order_by(table.c[key_column], table.c.seq)).mappings().all()
        prev_key, prev_hash = None, GENESIS
        for row in rows:
            if row[key_column] != prev_key:
                prev_key, prev_hash = row[key_column], GENESIS
            line = sa.util.immutabledict({f: row[f] for f in AUDIT_LINE_FIELDS})
            digest = link_hash(prev_hash, audit_line_content(key_column, row[key_column], _Line(line)))
            bind.execute(table.update().where(table.c.id == row['id']).values(prev_hash=prev_hash, hash=digest))
            prev_hash = digest


class _Line:
    def __init__(self, values) -> None:
        self.__dict__.update(values)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ramflow_audit_append_only()")
    op.drop_table('refused_attempts')
    op.drop_table('history_archive')
    for table in AUDIT_LOGS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('hash')
            batch_op.drop_column('prev_hash')
