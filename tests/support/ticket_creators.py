"""A process that opens tickets as fast as it can (the concurrent-ID test starts several at once)."""

from __future__ import annotations

from multiprocessing.synchronize import Barrier

from storage import tickets
from storage.db import Database


def create_tickets(database_url: str, count: int, worker: int, start: Barrier) -> None:
    database = Database(database_url)
    try:
        start.wait(60)
        for n in range(count):
            with database.session() as db_session:
                tickets.open_ticket(
                    db_session=db_session, kind="help_request", summary=f"p{worker}-{n}", line_user_id=f"U-p{worker}"
                )
    finally:
        database.dispose()
