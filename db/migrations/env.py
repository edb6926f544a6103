"""Alembic environment: the URL comes from the caller or from Settings (DATABASE_URL)."""
from alembic import context

from db.models import Base
import db.agreement_models  # noqa: F401
import db.ticket_models  # noqa: F401
import db.security_models  # noqa: F401
import db.idempotency  # noqa: F401
import db.premises_models  # noqa: F401
import db.audit_models  # noqa: F401
import db.billing_models  # noqa: F401
import db.console_sessions  # noqa: F401
import db.people_models  # noqa: F401
import db.mail_models  # noqa: F401
import db.import_models  # noqa: F401
import db.file_models  # noqa: F401
from db.session import make_engine

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    from config import get_settings

    url = get_settings().database_url


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
