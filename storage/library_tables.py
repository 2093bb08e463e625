"""Tables in Coopbot's database that belong to a library, not to Coopbot's models.

mautrix's Matrix crypto store and state store (``crypto_*``, ``mx_*``) live in the same
database as everything else, so that there is one thing to back up. Their schema is
created and upgraded by mautrix's own upgrade table (``crypto_version``,
``mx_version``) when the Matrix channel starts, following the library's version;
Alembic owns Coopbot's tables and must leave these alone: without this filter,
``alembic revision --autogenerate`` would propose to drop them.
"""

from __future__ import annotations

from typing import Any

LIBRARY_TABLE_PREFIXES = ("crypto_", "mx_")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic's ``include_object`` hook: skip reflected tables of the libraries."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", name)
    return not (reflected and str(table or "").startswith(LIBRARY_TABLE_PREFIXES))
