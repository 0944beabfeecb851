"""Storage: SQLAlchemy models, the repository of every query, Alembic migrations."""
