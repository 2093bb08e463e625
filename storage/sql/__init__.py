"""Storage on SQLite or PostgreSQL, through SQLAlchemy Core (see :mod:`storage.database`)."""
