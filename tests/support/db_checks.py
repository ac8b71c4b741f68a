"""Reading what the app stored, straight from its database (tests look at rows, not at the app's objects)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import text

from storage.db import make_engine


def query(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of a raw SQL query, as dicts (column values exactly as stored)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def processed_ids(database_url: str) -> set[str]:
    return {row["webhook_event_id"] for row in query(database_url, "SELECT webhook_event_id FROM processed_events")}


def wait_processed(database_url: str, event_ids: Iterable[str], timeout: float = 15.0) -> bool:
    """True once every one of these webhook events has committed its turn."""
    wanted = set(event_ids)
    return wait_until(lambda: wanted <= processed_ids(database_url), timeout)


def outbox_rows(database_url: str, source_event_id: str) -> list[dict[str, Any]]:
    return query(
        database_url,
        "SELECT * FROM outbox WHERE source_event_id = :event_id ORDER BY id",
        event_id=source_event_id,
    )


def wait_outbox_settled(database_url: str, timeout: float = 10.0) -> bool:
    """True once no outbox row is still pending or being sent."""
    return wait_until(
        lambda: not query(database_url, "SELECT id FROM outbox WHERE status IN ('pending', 'sending')"), timeout
    )
