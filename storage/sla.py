"""SLA clocks: working time on Thai government working days, due times, pause and resume, met or breached.

Pure functions, no SQL and no settings. It lives in storage/ because storage's service functions need it
(`open_ticket` sets the due times, a status change pauses or resumes the resolution clock, the job queries
compare with them) and storage may import nothing else of ours; bot/ and console/ import it from here.
The rules themselves are content (knowledge/sla.yaml, knowledge/holidays.yaml): `build_policy` takes the
validated knowledge objects through the small protocols below, so storage never imports knowledge.

Times are timezone-aware; the working day is counted in Thai time (UTC+7 all year: Thailand has no daylight
saving, so a fixed offset is exact and needs no tz database).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import product
from typing import Protocol

import holidays

THAI_TIME = timezone(timedelta(hours=7), "Asia/Bangkok")
WORKING = "working"
AROUND_THE_CLOCK = "around_the_clock"
# The government's days off: public holidays plus the government-only ones (วันพืชมงคล).
_HOLIDAY_CATEGORIES = ("public", "government")
KINDS = ("complaint", "help_request", "case_report", "emergency", "handoff")
URGENCIES = ("normal", "urgent")


class TargetData(Protocol):
    """One kind and urgency's targets (knowledge.loader.SlaRule)."""

    @property
    def clock(self) -> str: ...
    @property
    def first_response_minutes(self) -> int: ...
    @property
    def resolution_minutes(self) -> int: ...
    @property
    def transfer_acceptance_minutes(self) -> int: ...
    @property
    def remind_before_minutes(self) -> int: ...


class RulesData(Protocol):
    """knowledge.loader.SlaRules."""

    @property
    def day_start(self) -> time: ...
    @property
    def day_end(self) -> time: ...
    @property
    def auto_close_after_days(self) -> int: ...
    def target(self, kind: str, urgency: str) -> TargetData: ...


class OverridesData(Protocol):
    """knowledge.loader.HolidayOverrides."""

    def closed_days(self) -> dict[date, str]: ...
    def provincial_days(self) -> dict[str, dict[date, str]]: ...
    def open_days(self) -> dict[date, str]: ...


class WorkingCalendar:
    """Which days and hours the provincial offices work: Monday to Friday, `day_start` to `day_end` Thai time,
    except Thai public and government holidays (the `holidays` package, offline), the override table's closed
    days (nationally, or in one province by its geothai code), and except the override table's open days."""

    def __init__(
        self,
        *,
        day_start: time = time(8, 30),
        day_end: time = time(16, 30),
        closed: Mapping[date, str] | None = None,
        provincial: Mapping[str, Mapping[date, str]] | None = None,
        opened: Mapping[date, str] | None = None,
    ) -> None:
        if day_end <= day_start:
            raise ValueError("the working day must end after it starts")
        self.day_start = day_start
        self.day_end = day_end
        self.closed = dict(closed or {})
        self.provincial = {code: dict(days) for code, days in (provincial or {}).items()}
        self.opened = dict(opened or {})
        self._years: dict[int, dict[date, str]] = {}
        self._lock = threading.Lock()

    @property
    def working_day(self) -> timedelta:
        return datetime.combine(date.min, self.day_end) - datetime.combine(date.min, self.day_start)

    def _national(self, year: int) -> dict[date, str]:
        days = self._years.get(year)
        if days is None:
            with self._lock:
                table = holidays.country_holidays("TH", years=year, categories=_HOLIDAY_CATEGORIES, language="th")
                days = {day: str(name) for day, name in table.items()}
                self._years[year] = days
        return days

    def holiday(self, day: date, province: str | None = None) -> str | None:
        """The reason `day` is not a working day in `province` (a geothai code, None: national only)."""
        if day in self.opened:
            return None
        if day.weekday() >= 5:
            return "วันเสาร์" if day.weekday() == 5 else "วันอาทิตย์"
        if province is not None and day in self.provincial.get(province, {}):
            return self.provincial[province][day]
        return self.closed.get(day) or self._national(day.year).get(day)

    def is_working_day(self, day: date, province: str | None = None) -> bool:
        return self.holiday(day, province) is None

    def _periods(self, start: datetime, province: str | None, *, backwards: bool = False) -> _Periods:
        return _Periods(self, start, province, backwards)


class _Periods:
    """Working periods (start, end) in Thai time from a moment on, forwards or backwards, clipped to it."""

    def __init__(self, calendar: WorkingCalendar, moment: datetime, province: str | None, backwards: bool) -> None:
        self.calendar, self.moment, self.province, self.backwards = calendar, moment, province, backwards

    def __iter__(self) -> _Periods:
        self.day = self.moment.astimezone(THAI_TIME).date()
        self.scanned = 0
        return self

    def __next__(self) -> tuple[datetime, datetime]:
        step = timedelta(days=-1 if self.backwards else 1)
        while self.scanned < 3 * 366:  # a calendar with no working day in three years is a bug, not a wait
            day = self.day
            self.day += step
            self.scanned += 1
            if not self.calendar.is_working_day(day, self.province):
                continue
            opens = datetime.combine(day, self.calendar.day_start, THAI_TIME)
            closes = datetime.combine(day, self.calendar.day_end, THAI_TIME)
            if self.backwards:
                closes = min(closes, self.moment)
            else:
                opens = max(opens, self.moment)
            if opens < closes:
                return opens, closes
        raise ValueError("no working day within three years")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("SLA clocks need timezone-aware datetimes")
    return moment


def due_at(
    start: datetime,
    minutes: float,
    calendar: WorkingCalendar,
    province: str | None = None,
    *,
    clock: str = WORKING,
) -> datetime:
    """The moment `minutes` of the clock's time have passed since `start` (negative: before it). Around the clock
    every minute counts; on the working clock only working time does, so a due time falls inside working hours
    (at the latest at the close of a working day, never the next morning's opening)."""
    _aware(start)
    if clock == AROUND_THE_CLOCK or minutes == 0:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=abs(minutes))
    backwards = minutes < 0
    for opens, closes in calendar._periods(start, province, backwards=backwards):
        length = closes - opens
        if remaining <= length:
            return closes - remaining if backwards else opens + remaining
        remaining -= length
    raise AssertionError("unreachable")  # pragma: no cover


def working_minutes(
    start: datetime,
    end: datetime,
    calendar: WorkingCalendar,
    province: str | None = None,
    *,
    clock: str = WORKING,
) -> float:
    """The clock's minutes between two moments (0 when `end` is not after `start`)."""
    _aware(start), _aware(end)
    if end <= start:
        return 0.0
    if clock == AROUND_THE_CLOCK:
        return (end - start).total_seconds() / 60
    total = timedelta()
    for opens, closes in calendar._periods(start, province):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total.total_seconds() / 60


def resumed_due(
    due: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    calendar: WorkingCalendar,
    province: str | None = None,
    *,
    clock: str = WORKING,
) -> datetime:
    """The resolution due time after a pause (`waiting_citizen` from `paused_at` until the citizen's reply at
    `resumed_at`): pushed later by the clock's time that passed while paused."""
    paused = working_minutes(paused_at, resumed_at, calendar, province, clock=clock)
    return due_at(due, paused, calendar, province, clock=clock)


def met(due: datetime | None, done_at: datetime) -> bool:
    """Whether something done at `done_at` met its due time (no due time: met)."""
    return due is None or done_at <= due


def breached(
    due: datetime | None, now: datetime, *, done_at: datetime | None = None, paused_at: datetime | None = None
) -> bool:
    """A clock is breached when its due time has passed and it is neither done nor paused."""
    return due is not None and done_at is None and paused_at is None and now > due


@dataclass(frozen=True)
class Target:
    clock: str
    first_response_minutes: int
    resolution_minutes: int
    transfer_acceptance_minutes: int
    remind_before_minutes: int


@dataclass(frozen=True)
class Due:
    first_response_due_at: datetime
    resolution_due_at: datetime


@dataclass(frozen=True)
class SlaPolicy:
    """The targets per (kind, urgency) on one working calendar, with the clock arithmetic applied to them."""

    targets: Mapping[tuple[str, str], Target]
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    auto_close_after_days: int = 7

    def target(self, kind: str, urgency: str) -> Target:
        try:
            return self.targets[(kind, urgency)]
        except KeyError:
            raise ValueError(f"no SLA rule for {kind}/{urgency}") from None

    def opened(self, kind: str, urgency: str, opened_at: datetime, province: str | None) -> Due:
        """The due times of a ticket opened at `opened_at` (to set on the ticket row in `open_ticket`)."""
        target = self.target(kind, urgency)
        return Due(
            first_response_due_at=due_at(
                opened_at, target.first_response_minutes, self.calendar, province, clock=target.clock
            ),
            resolution_due_at=due_at(opened_at, target.resolution_minutes, self.calendar, province, clock=target.clock),
        )

    def transfer_expires_at(self, kind: str, urgency: str, requested_at: datetime, to_province: str | None) -> datetime:
        """When a transfer not yet accepted by the receiving office expires (to an administrator)."""
        target = self.target(kind, urgency)
        return due_at(requested_at, target.transfer_acceptance_minutes, self.calendar, to_province, clock=target.clock)

    def remind_at(self, kind: str, urgency: str, due: datetime, province: str | None) -> datetime:
        """When officers are reminded of a due time that is coming."""
        target = self.target(kind, urgency)
        return due_at(due, -target.remind_before_minutes, self.calendar, province, clock=target.clock)

    def resumed(
        self, kind: str, urgency: str, due: datetime, paused_at: datetime, resumed_at: datetime, province: str | None
    ) -> datetime:
        """The resolution due time once the clock paused at `paused_at` runs again at `resumed_at`."""
        clock = self.target(kind, urgency).clock
        return resumed_due(due, paused_at, resumed_at, self.calendar, province, clock=clock)

    def auto_close_at(self, resolved_at: datetime) -> datetime:
        """A resolved ticket closes itself then, unless the person said it is not solved."""
        return resolved_at + timedelta(days=self.auto_close_after_days)


def build_policy(rules: RulesData, overrides: OverridesData) -> SlaPolicy:
    """The policy from the validated knowledge (`build_policy(k.sla, k.holidays)` for `k = get_knowledge()`)."""
    targets = {}
    for kind, urgency in product(KINDS, URGENCIES):
        rule = rules.target(kind, urgency)
        targets[(kind, urgency)] = Target(
            clock=rule.clock,
            first_response_minutes=rule.first_response_minutes,
            resolution_minutes=rule.resolution_minutes,
            transfer_acceptance_minutes=rule.transfer_acceptance_minutes,
            remind_before_minutes=rule.remind_before_minutes,
        )
    calendar = WorkingCalendar(
        day_start=rules.day_start,
        day_end=rules.day_end,
        closed=overrides.closed_days(),
        provincial=overrides.provincial_days(),
        opened=overrides.open_days(),
    )
    return SlaPolicy(targets=targets, calendar=calendar, auto_close_after_days=rules.auto_close_after_days)


# --- the clocks of one ticket ---------------------------------------------------------------------------------

_STARTED = ("acknowledged", "in_progress", "waiting_citizen", "resolved")


class ClockedTicket(Protocol):
    """What the clocks read and set on a ticket row (storage.tickets.Ticket)."""

    @property
    def kind(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def province_code(self) -> str | None: ...

    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_paused_at: datetime | None
    first_response_remind_at: datetime | None
    resolution_remind_at: datetime | None
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None


@dataclass(frozen=True)
class ClockEvent:
    """An SLA event for the ticket's history: `sla_met`, `sla_paused`, `sla_resumed`, `sla_breached`,
    `sla_reminder` (internal; staff are notified of breaches and reminders)."""

    type: str
    data: dict[str, object]
    notify_staff: bool = False


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def set_due_times(ticket: ClockedTicket, policy: SlaPolicy, opened_at: datetime) -> None:
    """The due and reminder times of a ticket opened (or re-triaged to another urgency) at `opened_at`."""
    due = policy.opened(str(ticket.kind), str(ticket.urgency), opened_at, ticket.province_code)
    ticket.first_response_due_at = due.first_response_due_at
    ticket.resolution_due_at = due.resolution_due_at
    set_reminders(ticket, policy)


def set_reminders(ticket: ClockedTicket, policy: SlaPolicy) -> None:
    """The reminder times before the ticket's open due times (its rule's `remind_before`)."""
    kind, urgency, province = str(ticket.kind), str(ticket.urgency), ticket.province_code
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        ticket.first_response_remind_at = policy.remind_at(kind, urgency, ticket.first_response_due_at, province)
    if ticket.resolved_at is None and ticket.resolution_due_at is not None and ticket.resolution_breached_at is None:
        ticket.resolution_remind_at = policy.remind_at(kind, urgency, ticket.resolution_due_at, province)


def on_status_change(
    ticket: ClockedTicket, wanted: str, now: datetime, policy: SlaPolicy | None = None
) -> list[ClockEvent]:
    """Run the clocks for a status change, BEFORE the ticket's own fields change: the first response and the
    resolution are met (or late), `waiting_citizen` pauses the resolution clock and leaving it resumes the clock
    with the due time pushed by the paused time (needs the policy; without one the due time stays). Returns the
    events to record; sets the due, reminder and breach fields."""
    current = str(ticket.status)
    wanted = str(wanted)
    events: list[ClockEvent] = []
    if ticket.first_response_at is None and wanted in _STARTED:
        events += _finished(ticket, "first_response", ticket.first_response_due_at, now)
        ticket.first_response_remind_at = None
    if current == "waiting_citizen" and wanted != "waiting_citizen" and ticket.sla_paused_at is not None:
        paused_at = ticket.sla_paused_at
        data: dict[str, object] = {"clock": "resolution", "paused_at": _iso(paused_at)}
        if policy is not None and ticket.resolution_due_at is not None:
            kind, urgency = str(ticket.kind), str(ticket.urgency)
            clock = policy.target(kind, urgency).clock
            data["paused_minutes"] = round(
                working_minutes(paused_at, now, policy.calendar, ticket.province_code, clock=clock)
            )
            ticket.resolution_due_at = policy.resumed(
                kind, urgency, ticket.resolution_due_at, paused_at, now, ticket.province_code
            )
            if wanted not in ("resolved", "closed"):
                set_reminders(ticket, policy)
        data["resolution_due_at"] = _iso(ticket.resolution_due_at)
        events.append(ClockEvent("sla_resumed", data))
    if current == "resolved" and wanted not in ("resolved", "closed") and policy is not None:
        # Reopened ("ยังไม่ได้รับการแก้ไข"): a fresh resolution clock from now, as for a new ticket.
        kind, urgency = str(ticket.kind), str(ticket.urgency)
        due = policy.opened(kind, urgency, now, ticket.province_code).resolution_due_at
        ticket.resolution_due_at = due
        ticket.resolution_breached_at = None
        ticket.resolution_remind_at = policy.remind_at(kind, urgency, due, ticket.province_code)
        events.append(
            ClockEvent("sla_resumed", {"clock": "resolution", "reopened": True, "resolution_due_at": _iso(due)})
        )
    if wanted == "waiting_citizen" and current != "waiting_citizen":
        events.append(ClockEvent("sla_paused", {"clock": "resolution", "due_at": _iso(ticket.resolution_due_at)}))
    if wanted == "resolved" and ticket.resolved_at is None:
        events += _finished(ticket, "resolution", ticket.resolution_due_at, now)
    if wanted in ("resolved", "closed"):
        ticket.first_response_remind_at = None
        ticket.resolution_remind_at = None
    return events


def _finished(ticket: ClockedTicket, clock: str, due: datetime | None, now: datetime) -> list[ClockEvent]:
    if due is None:
        return []
    if met(due, now):
        return [ClockEvent("sla_met", {"clock": clock, "due_at": _iso(due)})]
    breached_field = f"{clock}_breached_at"
    if getattr(ticket, breached_field) is not None:
        return []  # the job runner has already recorded this breach
    setattr(ticket, breached_field, now)
    return [ClockEvent("sla_breached", {"clock": clock, "due_at": _iso(due), "late": True}, notify_staff=True)]


def breach_event(clock: str, due: datetime) -> ClockEvent:
    return ClockEvent("sla_breached", {"clock": clock, "due_at": _iso(due)}, notify_staff=True)


def reminder_event(clock: str, due: datetime | None) -> ClockEvent:
    return ClockEvent("sla_reminder", {"clock": clock, "due_at": _iso(due)}, notify_staff=True)


# The policy of this process, installed once at start-up from knowledge/ (bot/runtime.py); storage's service
# functions use it when their caller passes none. Storage cannot read knowledge/ itself.
_installed: SlaPolicy | None = None


def install(policy: SlaPolicy | None) -> None:
    global _installed
    _installed = policy


def installed() -> SlaPolicy | None:
    return _installed
