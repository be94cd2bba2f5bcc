"""Persistence: SQLAlchemy models, repositories, session lifetime, Alembic migrations."""
