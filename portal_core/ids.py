"""Record ids as callers hand them in: the one check every service applies before a query.

Ids are INTEGER columns; a larger number is an error in PostgreSQL rather than "not found", and
a bool is an int in Python, so both are refused before they reach the database.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from portal_core.errors import InvalidInput, NotFound

Row = TypeVar("Row")

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
        raise InvalidInput(key="error.invalid_id", data={"what": what})
    return checked


def get_by_id(session: Session, model: type[Row], value: object, missing: type[NotFound]) -> Row:
    """The `model` row with id `value`, else `missing()` raised.

    A malformed id and an unknown one get the same answer, so a caller cannot tell which ids
    exist from the error.
    """
    key = valid_id(value)
    row = session.get(model, key) if key else None
    if row is None:
        raise missing()
    return row
