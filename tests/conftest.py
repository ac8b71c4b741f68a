"""Shared fixtures: real PostgreSQL and Redis (failing loudly when absent), a fake LINE, running apps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
import uvicorn

from bot.app import create_app
from bot.line.signature import sign
from bot.settings import Settings
from storage import migrate
from storage.db import Database
from storage.models import Base
from tests.support.fake_line import ACCESS_TOKEN, FakeLine, FakeLineServer, free_port

SECRET = "test-channel-secret"
TOKEN = ACCESS_TOKEN
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
HELPDESK = str(Path(sys.executable).with_name("helpdesk"))


# --- real services ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> str:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {POSTGRES_ADMIN_URL} and could not be reached: {exc}", pytrace=False)
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"helpdesk_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated database per backend for a module (a fresh one per test costs too much time); tests
    empty it with `emptied`."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('migrated')}/helpdesk.db"
        yield from _migrated(url)
        return
    admin = str(request.getfixturevalue("postgres_server"))
    name = f"helpdesk_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield from _migrated(admin.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrated(url: str) -> Iterator[Database]:
    migrate.upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def emptied(database: Database, keep: tuple[str, ...] = ()) -> Database:
    """The database with every table emptied but those named (e.g. the offices the migration seeded)."""
    with database.session() as db_session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in keep:
                db_session.execute(table.delete())
    return database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/helpdesk.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs the test on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/helpdesk.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def redis_url() -> str:
    """A Redis database emptied for this test."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is required at {REDIS_TEST_URL} and could not be reached: {exc}", pytrace=False)
    finally:
        client.close()
    return REDIS_TEST_URL


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    with FakeLineServer() as fake:
        yield fake


# --- webhook bodies ------------------------------------------------------------------------------


def user_id(n: int | str) -> str:
    return "U" + uuid.uuid5(uuid.NAMESPACE_OID, str(n)).hex


def text_event(uid: str, text: str, *, timestamp_ms: int | None = None, event_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": uid},
        "mode": "active",
        "replyToken": uuid.uuid4().hex,
        "message": {"type": "text", "id": str(uuid.uuid4().int)[:14], "text": text, "quoteToken": uuid.uuid4().hex},
    }


def event(uid: str, etype: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": etype,
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": uid},
        "mode": "active",
    }
    if etype in ("message", "follow", "postback", "join"):
        body["replyToken"] = uuid.uuid4().hex
    body.update(extra)
    return body


def webhook_body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"destination": "U" + "0" * 32, "events": events}, ensure_ascii=False).encode()


def post_webhook(base_url: str, events: list[dict[str, Any]], *, secret: str = SECRET) -> httpx.Response:
    body = webhook_body(events)
    headers = {"Content-Type": "application/json", "X-Line-Signature": sign(secret, body)}
    return httpx.post(f"{base_url}/line/webhook", content=body, headers=headers, timeout=10)


# --- the app, in this process (uvicorn in a thread) or as `helpdesk` subprocesses -----------------


def make_settings(database_url: str, fake: FakeLine, redis: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "line_channel_secret": SECRET,
        "line_channel_access_token": TOKEN,
        "line_api_base_url": fake.url,
        "line_data_api_base_url": fake.url,
        "database_url": database_url,
        "redis_url": redis,
        "secret_key": "test-secret-key",
        "queue_partitions": 8,
    }
    values.update(overrides)
    return Settings(**values)


class RunningApp:
    """The real app served by uvicorn on a free port in a background thread."""

    def __init__(self, settings: Settings, *, run_workers: bool = True) -> None:
        self.app = create_app(settings, run_workers=run_workers)
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningApp:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def running_app(sqlite_url: str, fake_line: FakeLine) -> Iterator[RunningApp]:
    """The app in embedded mode (SQLite, in-process queue) against the fake LINE."""
    with RunningApp(make_settings(sqlite_url, fake_line)) as app:
        yield app


class HelpdeskProcess:
    """`helpdesk serve|worker` as a real OS process, for tests that need several or need to kill one."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.port = free_port() if args[0] == "serve" else None
        full = [HELPDESK, *args] + (["--host", "127.0.0.1", "--port", str(self.port)] if self.port else [])
        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(full, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"helpdesk exited early:\n{self.log_path.read_text()[-3000:]}")
            if self.port is None:
                return
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("helpdesk did not become healthy")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def helpdesk_env(database_url: str, fake: FakeLine, redis: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
        LINE_API_BASE_URL=fake.url,
        LINE_DATA_API_BASE_URL=fake.url,
        DATABASE_URL=database_url,
        SECRET_KEY="test-secret-key",
        QUEUE_PARTITIONS="8",
    )
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = redis
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    """spawn(args, env) starts a helpdesk process; all are stopped after the test."""
    started: list[HelpdeskProcess] = []

    def start(args: list[str], env: dict[str, str]) -> HelpdeskProcess:
        process = HelpdeskProcess(args, env, tmp_path / f"helpdesk-{len(started)}.log")
        started.append(process)
        process.wait_healthy()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def helpdesk(spawn: Any) -> Iterator[Any]:
    """`spawn`, but whatever is still running at the end (also after a failure) is SIGKILLed, not stopped
    gracefully: quicker, and nothing here depends on a clean shutdown."""
    started: list[HelpdeskProcess] = []

    def start(args: list[str], env: dict[str, str]) -> HelpdeskProcess:
        process: HelpdeskProcess = spawn(args, env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.kill()
