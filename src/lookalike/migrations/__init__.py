"""Alembic migrations of the Lookalike database (run through :mod:`lookalike.database`)."""
