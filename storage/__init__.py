"""Storage: SQLAlchemy 2 models, repository functions, search and Alembic migrations."""
