"""One helper the services share: insert a row, turning a unique-key clash into the service's error."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

RowT = TypeVar("RowT")


def insert_new(session: Session, row: RowT, duplicate: Exception) -> RowT:
    """Flush one new row in a savepoint (the caller's transaction survives); a clash raises `duplicate`."""
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise duplicate from None
    return row
