"""Officers and the API's sign-in, through the real app: the token flow, expiry, lockout, the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bot.demo.seed import TICKETS, seed
from console.security import create_access_token
from storage import officers, tickets
from storage.base import utcnow
from storage.db import Database
from storage.officers import Officer, OfficerRole
from tests.conftest import HELPDESK, RunningApp, make_settings
from tests.support.fake_line import FakeLine, free_port

SECRET_KEY = "test-secret-key"  # make_settings' SECRET_KEY
KORAT = "30"  # geothai's code of นครราชสีมา
PASSWORD = "ดอกคูน-2569-ขอนแก่น"


@pytest.fixture
def app(sqlite_url: str, fake_line: FakeLine) -> Iterator[RunningApp]:
    with RunningApp(make_settings(sqlite_url, fake_line), run_workers=False) as running:
        yield running


@pytest.fixture
def db(app: RunningApp, sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)  # the app has migrated it
    yield database
    database.dispose()


def add_officer(db: Database, username: str, *, role: OfficerRole = OfficerRole.officer, **extra: Any) -> int:
    with db.session() as s:
        officer = officers.create_officer(
            db_session=s,
            username=username,
            password=PASSWORD,
            role=role,
            province_codes=extra.pop("provinces", [KORAT]),
            **extra,
        )
        return officer.id


def sign_in(app: RunningApp, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{app.url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=10)


def me(app: RunningApp, token: str) -> httpx.Response:
    return httpx.get(f"{app.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_password_flow_gives_a_short_lived_bearer_token(app: RunningApp, db: Database) -> None:
    add_officer(db, "somchai")
    answer = sign_in(app, "somchai")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    who = me(app, body["access_token"])
    assert who.status_code == 200
    assert who.json() == {"username": "somchai", "role": "officer", "provinces": ["นครราชสีมา"]}
    with db.session() as s:
        stored = s.scalars(select(Officer.password_hash).where(Officer.username == "somchai")).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "sign in first"),
        ({"Authorization": "Bearer not-a-token"}, "not valid"),
        ({"Authorization": "Basic c29tY2hhaTpwYXNz"}, "sign in first"),
    ],
)
def test_requests_without_a_valid_token_are_401_json(app: RunningApp, headers: dict[str, str], says: str) -> None:
    answer = httpx.get(f"{app.url}/api/v1/me", headers=headers, timeout=10)
    assert answer.status_code == 401
    assert says in answer.json()["message"]
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_expired_or_foreign_token_is_refused(app: RunningApp, db: Database) -> None:
    officer_id = add_officer(db, "somchai")
    expired = create_access_token(secret=SECRET_KEY, officer_id=officer_id, now=utcnow() - timedelta(minutes=16))
    answer = me(app, expired)
    assert answer.status_code == 401
    assert "expired" in answer.json()["message"]
    still_fresh = create_access_token(secret=SECRET_KEY, officer_id=officer_id, now=utcnow() - timedelta(minutes=14))
    assert me(app, still_fresh).status_code == 200
    forged = create_access_token(secret="someone-elses-key", officer_id=officer_id)
    assert me(app, forged).status_code == 401


def test_a_deactivated_officer_is_locked_out_at_once(app: RunningApp, db: Database) -> None:
    add_officer(db, "somchai")
    token = sign_in(app, "somchai").json()["access_token"]
    with db.session() as s:
        s.execute(update(Officer).where(Officer.username == "somchai").values(active=False))
    assert me(app, token).status_code == 401
    assert sign_in(app, "somchai").status_code == 401


def test_repeated_failures_lock_the_account(app: RunningApp, db: Database) -> None:
    add_officer(db, "somchai")
    add_officer(db, "malee")
    for _ in range(officers.MAX_FAILED_LOGINS - 1):
        assert sign_in(app, "somchai", "guess").status_code == 401
    assert sign_in(app, "somchai").status_code == 200  # a success clears the count
    for _ in range(officers.MAX_FAILED_LOGINS):
        answer = sign_in(app, "somchai", "guess")
        assert answer.status_code == 401
    assert "locked" in answer.json()["message"]
    refused = sign_in(app, "somchai")  # the right password, but locked
    assert refused.status_code == 401
    assert refused.json()["message"] == answer.json()["message"]  # a guesser cannot tell
    assert sign_in(app, "malee").status_code == 200  # only that account
    with db.session() as s:
        row = s.scalars(select(Officer).where(Officer.username == "somchai")).one()
        assert row.locked_until is not None and row.locked_until > utcnow() + timedelta(minutes=14)
        row.locked_until = utcnow() - timedelta(seconds=1)  # fifteen minutes later
    assert sign_in(app, "somchai").status_code == 200


def test_unknown_username_and_wrong_password_answer_alike(app: RunningApp, db: Database) -> None:
    add_officer(db, "somchai")
    unknown = sign_in(app, "nobody", "guess")
    wrong = sign_in(app, "somchai", "guess")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    missing = httpx.post(f"{app.url}/api/v1/auth/token", data={"username": "somchai"}, timeout=10)
    assert missing.status_code == 422
    assert "message" in missing.json()


def test_openapi_docs_are_served(app: RunningApp) -> None:
    assert httpx.get(f"{app.url}/api/docs", timeout=10).status_code == 200
    schema = httpx.get(f"{app.url}/api/openapi.json", timeout=10).json()
    assert "/api/v1/auth/token" in schema["paths"]


def recipients(db: Database, province_code: str) -> list[str]:
    with db.session() as s:
        return officers.alert_recipients(db_session=s, province_code=province_code)


def test_alert_recipients_are_the_linked_active_officers_of_the_province(app: RunningApp, db: Database) -> None:
    line_a, line_b = "U" + "a" * 32, "U" + "b" * 32
    add_officer(db, "korat1", line_user_id=line_a)
    add_officer(db, "korat2")  # no LINE account linked
    add_officer(db, "khonkaen", provinces=["40"], line_user_id=line_b)
    assert set(recipients(db, KORAT)) == {line_a}
    with db.session() as s:
        s.execute(update(Officer).where(Officer.username == "korat1").values(active=False))
    assert recipients(db, KORAT) == []


def test_create_officer_refuses_what_cannot_be(db: Database) -> None:
    add_officer(db, "somchai", line_user_id="U" + "c" * 32)
    for kwargs, says in (
        ({"username": "somchai"}, "already exists"),
        ({"username": "new", "password": "short"}, "at least 8"),
        ({"username": "new", "province_codes": []}, "needs a province"),
        ({"username": "new", "province_codes": ["99"]}, "unknown province"),
        ({"username": "new", "line_user_id": "U" + "c" * 32}, "already linked"),
        ({"username": "two words"}, "without spaces"),
    ):
        values: dict[str, Any] = {"password": PASSWORD, "role": OfficerRole.officer, "province_codes": [KORAT]}
        values.update(kwargs)
        with pytest.raises(officers.OfficerError, match=says), db.session() as s:
            officers.create_officer(db_session=s, **values)
    with db.session() as s:  # an admin works without a province
        officers.create_officer(
            db_session=s, username="admin", password=PASSWORD, role=OfficerRole.admin, province_codes=[]
        )


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)
    return subprocess.run([HELPDESK, *args], env=env, capture_output=True, text=True, timeout=120)


def test_officers_add_command(sqlite_url: str) -> None:
    done = run_cli(
        sqlite_url,
        "officers", "add", "--username", "somchai", "--password", PASSWORD, "--role", "officer",
        "--province", "โคราช", "--line-user-id", "U" + "d" * 32,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "somchai" in done.stdout and "นครราชสีมา" in done.stdout
    again = run_cli(
        sqlite_url, "officers", "add", "--username", "somchai", "--password", PASSWORD, "--role", "officer",
        "--province", "นครราชสีมา",
    )  # fmt: skip
    assert again.returncode == 1 and "already exists" in again.stderr
    nowhere = run_cli(
        sqlite_url, "officers", "add", "--username", "x", "--password", PASSWORD, "--role", "supervisor",
        "--province", "แอตแลนติส",
    )  # fmt: skip
    assert nowhere.returncode == 2 and "unknown province" in nowhere.stderr
    db = Database(sqlite_url)
    try:
        with db.session() as s:
            officer = officers.get_by_username(db_session=s, username="somchai")
            assert officer is not None and officer.role is OfficerRole.officer
            assert officer.line_user_id == "U" + "d" * 32
            assert officers.provinces_of(db_session=s, officer_id=officer.id) == {KORAT}
            assert officers.verify_password(officer.password_hash, PASSWORD)
    finally:
        db.dispose()


def test_demo_seeds_officers_and_tickets_and_prints_how_to_sign_in(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, LOG_LEVEL="WARNING")
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"):
        env.pop(name, None)
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [HELPDESK, "demo", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 90
            while True:
                assert proc.poll() is None, log_path.read_text()
                assert time.time() < deadline, log_path.read_text()
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            printed = log_path.read_text()
            assert f"{base}/api/docs" in printed
            found = re.search(r"officer\s+username korat\s+password (\S+)", printed)
            assert found, printed
            token = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": "korat", "password": found.group(1)}, timeout=10
            )
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            listed = httpx.get(f"{base}/api/v1/tickets", headers=headers, timeout=10).json()
            assert listed["total"] == 4  # the fifth is Khon Kaen's
            assert {t["province"] for t in listed["items"]} == {"นครราชสีมา"}
            assert listed["items"][0]["urgency"] == "urgent"
            assert any("เบี้ยคนพิการ" in t["summary"] for t in listed["items"])
            assert httpx.get(f"{base}/api/docs", timeout=10).status_code == 200
        finally:
            proc.terminate()
            proc.wait(20)
    # Seeding again (the next start) refreshes the passwords and adds no ticket twice.
    db = Database(f"sqlite:///{tmp_path}/helpdesk.db")
    try:
        again = seed(db)
        with db.session() as s:
            assert tickets.count_tickets(db_session=s, scope=tickets.Scope.admin()) == len(TICKETS)
            for demo, password in again:
                officer = officers.get_by_username(db_session=s, username=demo.username)
                assert officer is not None and officers.verify_password(officer.password_hash, password)
    finally:
        db.dispose()
