"""Alembic environment: runs on the connection Coopbot hands it (see storage.db.migrate).

For ``alembic revision --autogenerate`` during development, run
``alembic -c storage/migrations/alembic.ini revision --autogenerate -m "…"`` with
``COOPBOT_DATABASE_URL`` pointing at a scratch database.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from storage.library_tables import include_object
from storage.models import Base

target_metadata = Base.metadata

connection = context.config.attributes.get("connection")

if connection is not None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_object=include_object,
    )
    context.run_migrations()
else:
    url = os.environ.get("COOPBOT_DATABASE_URL", "sqlite:///alembic-dev.db")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=True, include_object=include_object)
        context.run_migrations()
