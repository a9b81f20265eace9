"""Alembic environment: migrations run on the engine handed over by :mod:`lookalike.database`."""

from alembic import context

from lookalike.database import create_engine, metadata


def run_migrations() -> None:
    """Run the pending migrations on the configured engine, in one transaction."""
    config = context.config
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


# Alembic executes this file with its context set up; a plain import (pytest's doctest collection) must not run it.
if hasattr(context, "config"):
    run_migrations()
