"""SQLAlchemy 2.0 models, per-domain service functions and Alembic migrations. SQL lives only here."""
