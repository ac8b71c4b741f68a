"""SLA clocks (storage/sla.py) on the real rules (knowledge/sla.yaml, knowledge/holidays.yaml, `holidays`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from knowledge.loader import KNOWLEDGE_DIR, SlaRules, get_knowledge, load_holiday_overrides
from storage.sla import (
    AROUND_THE_CLOCK,
    THAI_TIME,
    SlaPolicy,
    WorkingCalendar,
    breached,
    build_policy,
    due_at,
    met,
    resumed_due,
    working_minutes,
)

PATTANI, CHIANG_MAI = "94", "50"


def th(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=THAI_TIME)


@pytest.fixture(scope="module")
def policy() -> SlaPolicy:
    knowledge = get_knowledge()
    return build_policy(knowledge.sla, knowledge.holidays)


@pytest.fixture(scope="module")
def calendar(policy: SlaPolicy) -> WorkingCalendar:
    return policy.calendar


# --- working days ------------------------------------------------------------------------------------


def test_weekend_is_skipped(calendar: WorkingCalendar) -> None:
    # Friday 27 November 2026, 15:30 + 2 working hours: one hour on Friday, one on Monday morning.
    assert due_at(th(2026, 11, 27, 15, 30), 120, calendar) == th(2026, 11, 30, 9, 30)
    # Started on a Saturday: the clock starts at Monday's opening.
    assert due_at(th(2026, 11, 28, 10, 0), 60, calendar) == th(2026, 11, 30, 9, 30)


def test_due_time_at_the_close_stays_on_that_day(calendar: WorkingCalendar) -> None:
    assert due_at(th(2026, 11, 25, 8, 30), 480, calendar) == th(2026, 11, 25, 16, 30)
    assert due_at(th(2026, 11, 25, 20, 0), 480, calendar) == th(2026, 11, 26, 16, 30)  # after hours: from tomorrow


def test_chakri_day_is_skipped(calendar: WorkingCalendar) -> None:
    # วันจักรี, Monday 6 April 2026: Friday 16:00 + 1 hour runs into Tuesday.
    assert calendar.holiday(date(2026, 4, 6)) is not None
    assert due_at(th(2026, 4, 3, 16, 0), 60, calendar) == th(2026, 4, 7, 9, 0)


def test_songkran_is_skipped(calendar: WorkingCalendar) -> None:
    # สงกรานต์ 13–15 April 2026 (Monday to Wednesday) after a weekend: one working day from Friday 16:00
    # is 30 minutes on Friday and 7½ hours on Thursday 16 April.
    assert due_at(th(2026, 4, 10, 16, 0), 480, calendar) == th(2026, 4, 16, 16, 0)
    assert working_minutes(th(2026, 4, 10, 16, 0), th(2026, 4, 16, 9, 0), calendar) == 60


def test_royal_ploughing_day_is_a_government_holiday(calendar: WorkingCalendar) -> None:
    assert calendar.holiday(date(2026, 5, 13)) == "วันพืชมงคล"  # the package's "government" category


def test_an_override_day_is_skipped() -> None:
    # A cabinet bridge day on Thursday 26 November 2026 (a test table: the real one has none that day).
    plain = WorkingCalendar()
    bridged = WorkingCalendar(closed={date(2026, 11, 26): "วันหยุดพิเศษ"})
    assert due_at(th(2026, 11, 25, 16, 0), 60, plain) == th(2026, 11, 26, 9, 0)
    assert due_at(th(2026, 11, 25, 16, 0), 60, bridged) == th(2026, 11, 27, 9, 0)


def test_override_table_from_yaml(tmp_path: Path) -> None:
    table = {
        "closed": [{"date": "2026-11-26", "name": "วันหยุดพิเศษ", "source": "มติคณะรัฐมนตรี (test table)"}],
        "provincial": [],
        "open": [{"date": "2026-05-13", "name": "วันพืชมงคล", "source": "test: offices open that day"}],
    }
    path = tmp_path / "holidays.yaml"
    path.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    rules = get_knowledge().sla
    bridged = build_policy(rules, load_holiday_overrides(path)).calendar
    assert due_at(th(2026, 11, 25, 16, 0), 60, bridged) == th(2026, 11, 27, 9, 0)
    assert bridged.is_working_day(date(2026, 5, 13))  # an open day beats the package's holiday


def test_provincial_holiday_only_in_that_province(calendar: WorkingCalendar) -> None:
    # วันฮารีรายอ, Friday 20 March 2026 (estimated), closes the offices of the four southern border provinces.
    start = th(2026, 3, 19, 16, 0)
    assert due_at(start, 60, calendar, PATTANI) == th(2026, 3, 23, 9, 0)
    assert due_at(start, 60, calendar, CHIANG_MAI) == th(2026, 3, 20, 9, 0)
    assert due_at(start, 60, calendar, None) == th(2026, 3, 20, 9, 0)  # the central queue


def test_times_in_utc_give_the_same_instants(calendar: WorkingCalendar) -> None:
    start = th(2026, 11, 27, 15, 30).astimezone(UTC)
    assert due_at(start, 120, calendar) == th(2026, 11, 30, 9, 30)
    with pytest.raises(ValueError):
        due_at(datetime(2026, 11, 27, 15, 30), 60, calendar)  # naive


# --- the rules ---------------------------------------------------------------------------------------


def test_emergency_is_acknowledged_within_an_hour_around_the_clock(policy: SlaPolicy) -> None:
    # Saturday night during Songkran: the emergency clock does not stop.
    opened = th(2026, 4, 11, 23, 30)
    due = policy.opened("emergency", "urgent", opened, PATTANI)
    assert due.first_response_due_at == th(2026, 4, 12, 0, 30)
    assert due.resolution_due_at == opened + timedelta(days=1)
    assert policy.target("emergency", "normal").clock == AROUND_THE_CLOCK


def test_a_normal_complaint_runs_on_working_days(policy: SlaPolicy) -> None:
    opened = th(2026, 4, 10, 16, 0)  # Friday before Songkran
    due = policy.opened("complaint", "normal", opened, CHIANG_MAI)
    assert due.first_response_due_at == th(2026, 4, 16, 16, 0)
    # 10 working days: Friday ½ hour, 16–17 April, 20–24 April, 27–28 April, and 7½ hours on Wednesday 29th.
    assert due.resolution_due_at == th(2026, 4, 29, 16, 0)


def test_transfer_expiry_and_reminders(policy: SlaPolicy) -> None:
    assert policy.transfer_expires_at("help_request", "urgent", th(2026, 11, 27, 16, 0), CHIANG_MAI) == th(
        2026, 11, 30, 10, 0
    )
    # A due time on Monday 09:00, reminded 2 working hours before: ½ hour on Monday, 1½ on Friday.
    assert policy.remind_at("complaint", "normal", th(2026, 11, 30, 9, 0), CHIANG_MAI) == th(2026, 11, 27, 15, 0)
    assert policy.remind_at("emergency", "urgent", th(2026, 11, 29, 3, 0), None) == th(2026, 11, 29, 2, 45)
    assert policy.auto_close_at(th(2026, 11, 27, 10, 0)) == th(2026, 12, 4, 10, 0)


# --- pause and resume --------------------------------------------------------------------------------


def test_waiting_for_the_citizen_pushes_the_due_time_by_the_paused_working_time(calendar: WorkingCalendar) -> None:
    due = th(2026, 12, 1, 12, 0)  # Tuesday
    # Paused Friday 27 November 15:30, resumed Monday 30 November 09:30: two working hours paused.
    assert working_minutes(th(2026, 11, 27, 15, 30), th(2026, 11, 30, 9, 30), calendar) == 120
    assert resumed_due(due, th(2026, 11, 27, 15, 30), th(2026, 11, 30, 9, 30), calendar) == th(2026, 12, 1, 14, 0)
    # A pause that lies wholly outside working time moves nothing.
    assert resumed_due(due, th(2026, 11, 28, 9, 0), th(2026, 11, 29, 18, 0), calendar) == due


def test_pause_across_a_holiday_and_a_province(policy: SlaPolicy) -> None:
    # A help request waiting for the citizen from Thursday 19 March 15:30 to Monday 23 March 09:00: in Pattani
    # 1½ working hours paused (Thursday's last hour, Monday's first ½; Friday is วันฮารีรายอ there), in
    # Chiang Mai a whole working day more.
    due = th(2026, 3, 24, 10, 0)
    paused, resumed = th(2026, 3, 19, 15, 30), th(2026, 3, 23, 9, 0)
    assert policy.resumed("help_request", "normal", due, paused, resumed, PATTANI) == th(2026, 3, 24, 11, 30)
    assert policy.resumed("help_request", "normal", due, paused, resumed, CHIANG_MAI) == th(2026, 3, 25, 11, 30)


def test_emergency_pause_counts_every_minute(policy: SlaPolicy) -> None:
    due = th(2026, 11, 29, 3, 0)
    assert policy.resumed("emergency", "urgent", due, th(2026, 11, 28, 22, 0), th(2026, 11, 29, 1, 0), None) == th(
        2026, 11, 29, 6, 0
    )


def test_met_and_breached() -> None:
    due = th(2026, 11, 30, 9, 0)
    assert met(due, due) and not met(due, due + timedelta(seconds=1)) and met(None, due)
    later = due + timedelta(minutes=1)
    assert breached(due, later)
    assert not breached(due, due)
    assert not breached(due, later, done_at=due)  # done: met or not, no breach to fire
    assert not breached(due, later, paused_at=due - timedelta(hours=1))  # waiting for the citizen
    assert not breached(None, later)


def test_around_the_clock_helpers() -> None:
    calendar = WorkingCalendar()
    start = th(2026, 11, 28, 23, 0)
    assert due_at(start, 90, calendar, clock=AROUND_THE_CLOCK) == th(2026, 11, 29, 0, 30)
    assert working_minutes(start, th(2026, 11, 29, 1, 0), calendar, clock=AROUND_THE_CLOCK) == 120


# --- validation of the content -------------------------------------------------------------------------


def _rules() -> dict[str, object]:
    data = yaml.safe_load((KNOWLEDGE_DIR / "sla.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_sla_rules_reject_an_emergency_on_office_hours() -> None:
    data = _rules()
    data["rules"]["emergency"]["urgent"]["clock"] = "working"  # type: ignore[index]
    data["rules"]["emergency"]["normal"]["clock"] = "working"  # type: ignore[index]
    with pytest.raises(ValidationError, match="around the clock"):
        SlaRules.model_validate(data)


def test_sla_rules_need_every_kind_and_a_valid_duration() -> None:
    data = _rules()
    del data["rules"]["handoff"]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="kinds"):
        SlaRules.model_validate(data)
    data = _rules()
    data["rules"]["complaint"]["normal"]["resolution"] = "ten days"  # type: ignore[index]
    with pytest.raises(ValidationError, match="30m, 2h or 3d"):
        SlaRules.model_validate(data)
    data = _rules()
    data["rules"]["complaint"]["urgent"]["resolution"] = "20d"  # type: ignore[index]
    with pytest.raises(ValidationError, match="longer than normal"):
        SlaRules.model_validate(data)


def test_a_working_day_is_the_office_hours() -> None:
    rules = get_knowledge().sla
    assert rules.target("complaint", "normal").first_response_minutes == 8 * 60
    assert rules.target("emergency", "urgent").resolution_minutes == 24 * 60


def test_holiday_table_rejects_unknown_provinces_and_weekends(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    entry = {"date": "2026-03-20", "name": "วันฮารีรายอ", "source": "มติคณะรัฐมนตรี (test)"}
    path.write_text(yaml.safe_dump({"provincial": [{**entry, "provinces": ["ปัตตานีย์"]}]}), encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown provinces"):
        load_holiday_overrides(path)
    path.write_text(yaml.safe_dump({"closed": [{**entry, "date": "2026-03-21"}]}), encoding="utf-8")
    with pytest.raises(ValidationError, match="weekend"):
        load_holiday_overrides(path)
    path.write_text(yaml.safe_dump({"closed": [{**entry, "source": ""}]}), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_holiday_overrides(path)  # every entry names its source
