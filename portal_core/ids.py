"""Record ids as callers hand them in: the one check every service applies before a query.

Ids are INTEGER columns; a larger number is an error in PostgreSQL rather than "not found", and
a bool is an int in Python, so both are refused before they reach the database.
"""

from __future__ import annotations

from portal_core.errors import InvalidInput

MAX_DB_ID = 2**31 - 1


def valid_id(value: object) -> int | None:
    """An id as the database can hold it, or None: callers then report 'not found'."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_DB_ID else None


def require_id(value: object, what: str = "patient") -> int:
    """The id, or InvalidInput naming what was asked for ("that isn't a valid patient")."""
    checked = valid_id(value)
    if checked is None:
        raise InvalidInput(f"Sorry, that isn't a valid {what}.")
    return checked
