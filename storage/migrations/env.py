"""Alembic environment: migrations run on a connection handed in by storage.database."""

from alembic import context

from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `tickerbot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # The full-text tables (FTS5 shadow tables, the PostgreSQL side table) are managed by
    # migration 0002 by hand; autogenerate must not propose dropping them.
    include_object=lambda obj, name, type_, reflected, compare_to: (
        not (name or "").startswith("entry_search")
    ),
)
with context.begin_transaction():
    context.run_migrations()
