"""The job runner: every few seconds, the SLA work that has come due (storage/sla_jobs.py).

`helpdesk serve` and every `helpdesk worker` run one (Runtime.start with workers). Several runners at once are
safe: each job claims its rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so a breach, a reminder, an
auto-close or a transfer expiry happens once whichever runner gets it. Each job runs in its own short
transaction, so one failing job neither blocks nor rolls back the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from bot import metrics
from storage import sla, sla_jobs
from storage.base import utcnow
from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_AUTO_CLOSE = timedelta(days=7)


@dataclass
class JobReport:
    breaches: list[tuple[str, str]] = field(default_factory=list)
    reminders: list[tuple[str, str]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    expired_transfers: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class JobRunner:
    def __init__(
        self,
        *,
        db: Database,
        policy: sla.SlaPolicy | None = None,
        interval_seconds: float = 30.0,
        batch: int = 200,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.policy = policy
        self.interval_seconds = interval_seconds
        self.batch = batch
        self.clock = clock

    def run_once(self, now: datetime | None = None) -> JobReport:
        """One pass over every job, each in its own transaction; a job that fails is logged and retried next pass."""
        now = now or self.clock()
        report = JobReport()
        policy = self.policy or sla.installed()
        after = timedelta(days=policy.auto_close_after_days) if policy is not None else DEFAULT_AUTO_CLOSE
        jobs: list[tuple[str, Callable[[], None]]] = [
            ("breaches", lambda: report.breaches.extend(self._in_transaction(sla_jobs.fire_breaches, now))),
            ("reminders", lambda: report.reminders.extend(self._in_transaction(sla_jobs.send_reminders, now))),
            (
                "auto_close",
                lambda: report.closed.extend(self._in_transaction(partial(sla_jobs.auto_close, after=after), now)),
            ),
            (
                "transfers",
                lambda: report.expired_transfers.extend(self._in_transaction(sla_jobs.expire_overdue_transfers, now)),
            ),
        ]
        for name, job in jobs:
            try:
                job()
            except Exception:
                log.exception("SLA job failed", extra={"job": name})
                report.failed.append(name)
        for name, done in (
            ("breach", report.breaches),
            ("reminder", report.reminders),
            ("auto_close", report.closed),
            ("transfer_expired", report.expired_transfers),
        ):
            if done:
                metrics.SLA_JOBS.labels(name).inc(len(done))
        return report

    def _in_transaction(self, job: Callable[..., list[T]], now: datetime) -> list[T]:
        with self.db.session() as db_session:
            return job(db_session=db_session, now=now, limit=self.batch)

    async def run_forever(self) -> None:
        while True:
            try:
                report = await asyncio.to_thread(self.run_once)
                if report.breaches or report.reminders or report.closed or report.expired_transfers:
                    log.info(
                        "SLA jobs",
                        extra={
                            "breaches": len(report.breaches),
                            "reminders": len(report.reminders),
                            "closed": len(report.closed),
                            "expired_transfers": len(report.expired_transfers),
                        },
                    )
            except Exception:
                log.exception("SLA job pass failed")
            await asyncio.sleep(self.interval_seconds)
