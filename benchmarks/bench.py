#!/usr/bin/env python
"""Throughput and latency benchmark for the LINE webhook and the queue workers (loopback only).

Run from the repository root:

    .venv/bin/python benchmarks/bench.py [--quick]

Every moving part runs in its own OS process: the services under test (`helpdesk serve --no-worker`,
`helpdesk worker`, a bare FastAPI route), a fast fake LINE Messaging API, a trivial asyncio HTTP server
(to measure the load generator itself) and the load generator. This file is all of them: the orchestrator
starts copies of itself with a hidden sub-command (`_fake-line`, `_bare-app`, `_trivial`, `_loadgen`).

It prints a results table and writes benchmarks/results/latest.json (subprocess logs go to
benchmarks/results/logs/). See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import hashlib
import hmac
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
LOG_DIR = RESULTS_DIR / "logs"
HELPDESK = str(Path(sys.executable).with_name("helpdesk"))

SECRET = "bench-channel-secret"
ACCESS_TOKEN = "bench-access-token"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

INGEST_TEXT = "สวัสดีค่ะ ขอสอบถามเรื่องเบี้ยยังชีพผู้สูงอายุ ต้องลงทะเบียนที่ไหนคะ"
E2E_TEXT = "สวัสดีค่ะ"

# Targets from the issue.
TARGET_INGEST_RATIO = 0.75
TARGET_ACK_P99_MS = 20.0
TARGET_E2E_EVENTS_PER_S = 500.0
TARGET_GENERATOR_HEADROOM = 3.0


@dataclass(frozen=True)
class Plan:
    """Durations and sizes; --quick shrinks them. Caps keep a slow build from running for ever."""

    calibrate_seconds: float
    closed_seconds: float
    closed_warmup_seconds: float
    closed_rounds: int
    closed_concurrency: int
    open_rate: float
    open_seconds: float
    open_concurrency: int
    users: int
    e2e_events: int
    e2e_workers: tuple[int, ...]
    e2e_passes: tuple[str, ...]
    e2e_fresh_setup: bool  # a new database and new processes per worker count (else: add workers)
    e2e_primer_events: int
    e2e_min_events: int
    e2e_pass_target_seconds: float  # a pass sends fewer than e2e_events if the last rate measured says it must
    e2e_pass_cap_seconds: float  # stop waiting for answers after this long (the pass is then "capped")
    e2e_drain_cap_seconds: float  # how long to let a capped pass's backlog drain before the next one
    e2e_lease_wait_seconds: float
    stop_wait_seconds: float
    commit_probe: int


FULL = Plan(
    calibrate_seconds=3,
    closed_seconds=6,
    closed_warmup_seconds=1,
    closed_rounds=2,
    closed_concurrency=32,
    open_rate=1000,
    open_seconds=10,
    open_concurrency=64,
    users=1000,
    e2e_events=3000,
    e2e_workers=(1, 2),
    e2e_passes=("first_contact", "returning"),
    e2e_fresh_setup=True,
    e2e_primer_events=64,
    e2e_min_events=300,
    e2e_pass_target_seconds=10,
    e2e_pass_cap_seconds=20,
    e2e_drain_cap_seconds=10,
    e2e_lease_wait_seconds=10,
    stop_wait_seconds=5,
    commit_probe=200,
)
QUICK = Plan(
    calibrate_seconds=1.5,
    closed_seconds=2.5,
    closed_warmup_seconds=0.5,
    closed_rounds=1,
    closed_concurrency=32,
    open_rate=1000,
    open_seconds=3,
    open_concurrency=64,
    users=1000,
    e2e_events=1000,
    e2e_workers=(1, 2),
    e2e_passes=("first_contact",),
    e2e_fresh_setup=False,
    e2e_primer_events=32,
    e2e_min_events=100,
    e2e_pass_target_seconds=3,
    e2e_pass_cap_seconds=6,
    e2e_drain_cap_seconds=3,
    e2e_lease_wait_seconds=5,
    stop_wait_seconds=3,
    commit_probe=50,
)


# =====================================================================================================
# Shared helpers
# =====================================================================================================


def install_uvloop() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    uvloop.install()
    return "uvloop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """Nearest-rank p50/p90/p99/max (milliseconds in, milliseconds out)."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)
    n = len(ordered)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * n) - 1)], 3)

    return {"n": n, "p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": round(ordered[-1], 3)}


def user_id(pool: str, index: int) -> str:
    return "U" + hashlib.md5(f"{pool}-{index}".encode()).hexdigest()


# =====================================================================================================
# Load generator (its own process): raw HTTP/1.1 over asyncio protocols, keep-alive, uvloop if present
# =====================================================================================================


class WebhookBodies:
    """Signed single-event text-message webhook requests, each with a unique webhookEventId and replyToken."""

    def __init__(self, *, host: str, text: str, users: list[str], secret: str = SECRET) -> None:
        self.host = host
        self.text = text
        self.users = users
        self.key = secret.encode()
        self.run = os.urandom(4).hex().upper()  # unique across runs and processes
        self.count = 0

    def next(self, user_index: int | None = None) -> tuple[bytes, str]:
        """(the whole HTTP request, its replyToken)."""
        n = self.count
        self.count += 1
        user = self.users[(n if user_index is None else user_index) % len(self.users)]
        event_id = f"{self.run}{n:018d}"  # 26 characters, like LINE's ULIDs
        reply_token = f"{self.run}{n:024x}"  # 32 hex characters
        body = (
            '{"destination":"Ubench0000000000000000000000000000","events":[{"type":"message","message":'
            f'{{"type":"text","id":"{5_000_000_000_000_00 + n}","quoteToken":"q{reply_token}{reply_token}'
            f'{reply_token[:20]}","text":"{self.text}"}},"webhookEventId":"{event_id}",'
            '"deliveryContext":{"isRedelivery":false},'
            f'"timestamp":{int(time.time() * 1000)},"source":{{"type":"user","userId":"{user}"}},'
            f'"replyToken":"{reply_token}","mode":"active"}}]}}'
        ).encode()
        signature = base64.b64encode(hmac.new(self.key, body, hashlib.sha256).digest())
        head = (
            b"POST /line/webhook HTTP/1.1\r\nHost: "
            + self.host.encode()
            + b"\r\nUser-Agent: LineBotWebhook/2.0\r\nContent-Type: application/json; charset=utf-8\r\n"
            + b"X-Line-Signature: "
            + signature
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        return head + body, reply_token


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request in flight at a time; answers the status code."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio classes
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            self._fail(ConnectionError("response without content-length"))
            return
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        status = int(self.buffer[9:12])
        del self.buffer[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(status)

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(ConnectionError(f"connection lost: {exc}"))

    def request(self, data: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Client:
    """A lazily (re)connected HttpConnection."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.conn: HttpConnection | None = None

    async def send(self, data: bytes, limit: float | None = None) -> int:
        """The status code; raises on connection errors and timeouts (the connection is then dropped)."""
        if self.conn is None or self.conn.lost:
            _, conn = await asyncio.get_running_loop().create_connection(HttpConnection, self.host, self.port)
            self.conn = conn
        try:
            if limit is None:
                return await self.conn.request(data)
            return await asyncio.wait_for(self.conn.request(data), limit)
        except BaseException:
            self.conn.close()
            self.conn = None
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


async def loadgen_closed(spec: dict[str, Any]) -> dict[str, Any]:
    """N connections, each sending its next request as soon as the previous answer arrives."""
    host, port = spec["host"], spec["port"]
    bodies = WebhookBodies(
        host=f"{host}:{port}", text=spec["text"], users=[user_id(spec["user_pool"], i) for i in range(spec["users"])]
    )
    warmup_end = time.perf_counter() + spec["warmup"]
    end = warmup_end + spec["duration"]
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    answered = 0  # including the warm-up, for CPU per request

    async def worker() -> None:
        nonlocal answered
        client = Client(host, port)
        try:
            while True:
                data, _ = bodies.next()
                started = time.perf_counter()
                if started >= end:
                    return
                try:
                    status = await client.send(data)
                except (OSError, ConnectionError) as exc:
                    if time.perf_counter() >= warmup_end:
                        errors[type(exc).__name__] += 1
                    await asyncio.sleep(0.01)
                    continue
                answered += 1
                finished = time.perf_counter()
                if finished < warmup_end or finished > end:
                    continue
                statuses[str(status)] += 1
                latencies.append((finished - started) * 1000)
        finally:
            client.close()

    await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
    completed = sum(statuses.values())
    return {
        "mode": "closed",
        "concurrency": spec["concurrency"],
        "duration_s": spec["duration"],
        "requests": completed,
        "requests_all": answered,
        "rate": round(completed / spec["duration"], 1),
        "ok": statuses.get("200", 0),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "latency_ms": percentiles(latencies),
        "request_bytes": len(bodies.next()[0]),
        "body_bytes": len(bodies.next()[0].split(b"\r\n\r\n", 1)[1]),
    }


async def loadgen_open(spec: dict[str, Any]) -> dict[str, Any]:
    """A fixed arrival rate, whatever the server does (no coordinated omission): latency is measured both
    from the moment a request was due and from the moment it was written to the socket."""
    host, port = spec["host"], spec["port"]
    rate, duration = float(spec["rate"]), float(spec["duration"])
    total = int(rate * duration)
    bodies = WebhookBodies(
        host=f"{host}:{port}", text=spec["text"], users=[user_id(spec["user_pool"], i) for i in range(spec["users"])]
    )
    due_queue: asyncio.Queue[float | None] = asyncio.Queue()
    from_due: list[float] = []
    from_send: list[float] = []
    lags: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    timeout = float(spec.get("timeout", 5.0))

    async def worker() -> None:
        client = Client(host, port)
        # Open the connection before the clock starts.
        with contextlib.suppress(OSError, ConnectionError, TimeoutError):
            warm, _ = bodies.next()
            await client.send(warm, timeout)
        try:
            while True:
                due = await due_queue.get()
                if due is None:
                    return
                data, _ = bodies.next()
                sent = time.perf_counter()
                try:
                    status = await client.send(data, timeout)
                except (OSError, ConnectionError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                done = time.perf_counter()
                statuses[str(status)] += 1
                lags.append((sent - due) * 1000)
                from_due.append((done - due) * 1000)
                from_send.append((done - sent) * 1000)
        finally:
            client.close()

    workers = [asyncio.create_task(worker()) for _ in range(spec["concurrency"])]
    await asyncio.sleep(0.3)  # let the connections open
    start = time.perf_counter()
    issued = 0
    while issued < total:
        now = time.perf_counter()
        due_count = min(total, int((now - start) * rate) + 1)
        while issued < due_count:
            due_queue.put_nowait(start + issued / rate)
            issued += 1
        await asyncio.sleep(max(0.0, start + issued / rate - time.perf_counter()))
    issuing_seconds = time.perf_counter() - start
    # Requests still waiting for a free connection when the time is up: the server fell behind the rate.
    unsent = 0
    while not due_queue.empty():
        due_queue.get_nowait()
        unsent += 1
    for _ in workers:
        due_queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    errors_total = sum(errors.values()) + sum(v for k, v in statuses.items() if k != "200") + unsent
    return {
        "mode": "open",
        "target_rate": rate,
        "requests": total,
        "requests_all": total - unsent + spec["concurrency"],
        "issue_rate": round(total / issuing_seconds, 1),
        "completion_rate": round(sum(statuses.values()) / elapsed, 1),
        "ok": statuses.get("200", 0),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "unsent_when_time_was_up": unsent,
        "errors_total": errors_total,
        "latency_ms": percentiles(from_due),
        "latency_from_send_ms": percentiles(from_send),
        "send_lag_ms": percentiles(lags),
    }


async def loadgen_batch(spec: dict[str, Any]) -> dict[str, Any]:
    """Send `events` webhooks as fast as `concurrency` connections allow; report when each was sent."""
    host, port = spec["host"], spec["port"]
    users = [user_id(spec["user_pool"], i) for i in range(spec["users"])]
    bodies = WebhookBodies(host=f"{host}:{port}", text=spec["text"], users=users)
    requests = [bodies.next(i) for i in range(spec["events"])]  # event i → user i % users
    sends: dict[str, float] = {}
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    cursor = iter(requests)

    async def worker() -> None:
        client = Client(host, port)
        try:
            for data, token in cursor:
                for _ in range(3):
                    sent = time.monotonic()
                    try:
                        status = await client.send(data, 10.0)
                    except (OSError, ConnectionError, TimeoutError) as exc:
                        errors[type(exc).__name__] += 1
                        continue
                    statuses[str(status)] += 1
                    if status == 200:
                        sends[token] = sent
                        break
        finally:
            client.close()

    first = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
    last = time.monotonic()
    return {
        "mode": "batch",
        "events": spec["events"],
        "accepted": len(sends),
        "first_send": first,
        "last_ack": last,
        "statuses": dict(statuses),
        "errors": dict(errors),
        "sends": sends,
    }


def cmd_loadgen(spec_json: str) -> int:
    import resource

    spec = json.loads(spec_json)
    loop_kind = install_uvloop()
    runner = {"closed": loadgen_closed, "open": loadgen_open, "batch": loadgen_batch}[spec["mode"]]
    result = asyncio.run(runner(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["loop"] = loop_kind
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


# =====================================================================================================
# Servers (each in its own process)
# =====================================================================================================


class TrivialServer(asyncio.Protocol):
    """HTTP/1.1 keep-alive server that answers every request `{}`: the load generator's ceiling."""

    RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            assert self.transport is not None
            self.transport.write(self.RESPONSE)


def cmd_trivial(port: int) -> int:
    install_uvloop()

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(TrivialServer, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def make_bare_app() -> Any:
    """One POST /line/webhook that reads the body and answers `{}` (plus /healthz to wait on)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(docs_url=None, redoc_url=None)

    async def webhook(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({})

    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # This module has postponed annotations and FastAPI resolves them in module globals, where these
    # lazily imported names are not: give it the objects themselves.
    webhook.__annotations__ = {"request": Request, "return": JSONResponse}
    healthz.__annotations__ = {"return": dict[str, str]}
    app.post("/line/webhook")(webhook)
    app.get("/healthz")(healthz)
    return app


def cmd_bare_app(port: int) -> int:
    """The same uvicorn settings as `helpdesk serve` (bot/cli.py::_serve)."""
    import uvicorn

    config = uvicorn.Config(
        make_bare_app(), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    uvicorn.Server(config).run()
    return 0


def cmd_fake_line(port: int) -> int:
    """The shared fake LINE (bot/line/fake.py), lenient, with its /_fake/ control routes."""
    from bot.line.fake import main

    return main(["--port", str(port), "--access-token", ACCESS_TOKEN])


# =====================================================================================================
# Orchestrator
# =====================================================================================================


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the orchestrator dies, even by SIGKILL (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None, port: int | None = None):
        self.name = name
        self.port = port
        self.log_path = LOG_DIR / f"{name}.log"
        self.log = self.log_path.open("wb")
        # Own session: Ctrl-C reaches only the orchestrator, which then stops everything in order.
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_http(self, path: str = "/healthz", timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early (code {self.popen.returncode}):\n{self.tail()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + path, timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout:.0f} s:\n{self.tail()}")

    def wait_tcp(self, timeout: float = 15.0) -> None:
        assert self.port is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.log.close()


class Resources:
    """Everything the run creates, released in reverse order whatever happens."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []
        self.databases: list[str] = []
        self.redis_used = False

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, port: int | None = None) -> Proc:
        proc = Proc(name, argv, env, port)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self, procs: list[Proc], wait: float) -> dict[str, float | str]:
        """SIGTERM all at once; SIGKILL what has not exited after `wait` seconds. Returns how long each took."""
        started = time.monotonic()
        took: dict[str, float | str] = {}
        for proc in procs:
            if proc.alive():
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.popen.wait(max(0.0, started + wait - time.monotonic()))
                took[proc.name] = round(time.monotonic() - started, 2)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
                took[proc.name] = f"killed after {wait:.0f} s"
            self.stop(proc)
        return took

    def self_command(self, name: str, sub: str, port: int) -> Proc:
        return self.start(name, [sys.executable, str(Path(__file__).resolve()), sub, "--port", str(port)], port=port)

    def create_database(self) -> str:
        import psycopg

        name = f"helpdesk_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.databases:
            self.databases.remove(name)

    def drop_leftovers(self) -> list[str]:
        """Databases a killed run (SIGKILL leaves no chance to clean up) left behind, if nobody uses them."""
        import psycopg

        dropped = []
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            names = [
                row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'helpdesk_bench_%'")
            ]
            for name in names:
                with contextlib.suppress(psycopg.Error):  # in use: another run's, leave it
                    conn.execute(f'DROP DATABASE "{name}"')
                    dropped.append(name)
        return dropped

    def flush_redis(self) -> None:
        import redis

        self.redis_used = True
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        try:
            client.flushdb()
        finally:
            client.close()

    def close(self, wait: float) -> None:
        try:
            self.stop_all(list(reversed(self.procs)), wait)
        except Exception as exc:
            print(f"  ! could not stop every process: {exc}", file=sys.stderr)
            for proc in self.procs:
                with contextlib.suppress(Exception):
                    proc.popen.kill()
        self.procs.clear()
        for name in list(self.databases):
            try:
                self.drop_database(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
            except Exception as exc:
                print(f"  ! could not drop database {name}: {exc}", file=sys.stderr)
        if self.redis_used:
            with contextlib.suppress(Exception):
                self.flush_redis()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (CPU attribution only; other users add noise)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
    return pids


def redis_pid() -> int | None:
    import redis

    with contextlib.suppress(Exception):
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            pid = int(client.info("server")["process_id"])
        finally:
            client.close()
        return pid if Path(f"/proc/{pid}").exists() else None
    return None


class CpuMeter:
    """CPU seconds used by named groups of processes between start() and stop()."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = {name: [p for p in pids if p] for name, pids in groups.items()}
        self.before: dict[int, float] = {}

    def _snapshot(self) -> dict[int, float]:
        values = {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids}
        return {pid: v for pid, v in values.items() if v is not None}

    def start(self) -> CpuMeter:
        self.before = self._snapshot()
        return self

    def stop(self) -> dict[str, float]:
        after = self._snapshot()
        return {
            name: round(sum(after[p] - self.before[p] for p in pids if p in after and p in self.before), 3)
            for name, pids in self.groups.items()
        }


def http_json(method: str, url: str, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def run_loadgen(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The load generator in its own process (so it does not share a CPU slice with the orchestrator)."""
    argv = [sys.executable, str(Path(__file__).resolve()), "_loadgen", json.dumps(spec)]
    done = subprocess.run(
        argv, capture_output=True, timeout=timeout, cwd=ROOT, preexec_fn=_die_with_parent, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measured_loadgen(spec: dict[str, Any], timeout: float, server: Proc) -> dict[str, Any]:
    """run_loadgen, plus the CPU time the server, Redis and the generator spent per request."""
    meter = CpuMeter({"server": [server.popen.pid], "redis": [redis_pid() or 0]}).start()
    result = run_loadgen(spec, timeout)
    cpu = meter.stop()
    cpu["loadgen"] = result.get("cpu_s", 0.0)
    count = max(1, int(result.get("requests_all") or result.get("requests") or 1))
    result["cpu_s"] = cpu
    result["cpu_us_per_request"] = {name: round(seconds / count * 1e6, 1) for name, seconds in cpu.items()}
    return result


def closed_spec(plan: Plan, port: int, seconds: float | None = None) -> dict[str, Any]:
    return {
        "mode": "closed",
        "host": "127.0.0.1",
        "port": port,
        "duration": seconds if seconds is not None else plan.closed_seconds,
        "warmup": plan.closed_warmup_seconds,
        "concurrency": plan.closed_concurrency,
        "users": plan.users,
        "user_pool": "ingest",
        "text": INGEST_TEXT,
    }


def open_spec(plan: Plan, port: int, rate: float | None = None, seconds: float | None = None) -> dict[str, Any]:
    return {
        "mode": "open",
        "host": "127.0.0.1",
        "port": port,
        "rate": rate if rate is not None else plan.open_rate,
        "duration": seconds if seconds is not None else plan.open_seconds,
        "concurrency": plan.open_concurrency,
        "users": plan.users,
        "user_pool": "ingest",
        "text": INGEST_TEXT,
    }


def helpdesk_env(database_url: str, fake_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_", "REDIS_"))}
    env.update(
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        LINE_API_BASE_URL=fake_url,
        LINE_DATA_API_BASE_URL=fake_url,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        SECRET_KEY="bench-secret-key",
        LOG_LEVEL="WARNING",
    )
    return env


def say(text: str) -> None:
    print(text, flush=True)


# --- 0. machine context and generator calibration -----------------------------------------------------


def machine_context() -> dict[str, Any]:
    def version(package: str) -> str | None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as _version

        try:
            return _version(package)
        except PackageNotFoundError:
            return None

    commit = None
    with contextlib.suppress(Exception):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
        "versions": {
            p: version(p)
            for p in ("uvicorn", "fastapi", "starlette", "uvloop", "httptools", "redis", "psycopg", "sqlalchemy")
        },
    }


def calibrate(res: Resources, plan: Plan) -> dict[str, Any]:
    """How fast the load generator can go against a server that does nothing."""
    port = free_port()
    trivial = res.self_command("trivial", "_trivial", port)
    trivial.wait_tcp()
    try:
        closed = measured_loadgen(closed_spec(plan, port, plan.calibrate_seconds), plan.calibrate_seconds + 30, trivial)
        opened = run_loadgen(open_spec(plan, port, seconds=min(3.0, plan.open_seconds)), timeout=60)
    finally:
        res.stop(trivial)
    return {"closed": closed, "open": opened}


# --- 1. webhook ingest vs a bare route ---------------------------------------------------------------


def bench_ingest(res: Resources, plan: Plan, fake: Proc, out: dict[str, Any]) -> None:
    """Fills `out` as it goes, so an interrupted run still reports what it measured."""
    database_url = res.create_database()
    res.flush_redis()
    bare_port, ingest_port = free_port(), free_port()
    bare = res.self_command("bare-app", "_bare-app", bare_port)
    ingest = res.start(
        "ingest-serve",
        [HELPDESK, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(ingest_port)],
        env=helpdesk_env(database_url, fake.url),
        port=ingest_port,
    )
    # Both servers stay up (an idle one costs nothing); runs alternate so background noise hits both alike.
    targets = {"bare": bare, "ingest": ingest}
    closed: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    opened: dict[str, dict[str, Any]] = {}
    out.update(closed=closed, open=opened)
    try:
        bare.wait_http()
        ingest.wait_http()
        for round_no in range(plan.closed_rounds):
            for name, server in targets.items():
                assert server.port is not None
                result = measured_loadgen(closed_spec(plan, server.port), plan.closed_seconds + 60, server)
                closed[name].append(result)
                cpu = result["cpu_us_per_request"]
                say(
                    f"  closed-loop {name:<6} round {round_no + 1}: {result['rate']:>8.0f} req/s "
                    f"(non-200: {result['requests'] - result['ok']}, errors: {sum(result['errors'].values())}; "
                    f"CPU µs/request: server {cpu['server']:.0f}, Redis {cpu['redis']:.0f}, "
                    f"generator {cpu['loadgen']:.0f})"
                )
        rates = {name: max((r["rate"] for r in runs), default=0.0) for name, runs in closed.items()}
        out["best_rate"] = rates
        out["ratio"] = round(rates["ingest"] / rates["bare"], 3) if rates["bare"] else None
        for name, server in targets.items():
            assert server.port is not None
            result = measured_loadgen(open_spec(plan, server.port), plan.open_seconds + 60, server)
            opened[name] = result
            lat = result["latency_ms"]
            say(
                f"  open-loop   {name:<6} {plan.open_rate:.0f} req/s: p50 {lat['p50']} ms, p99 {lat['p99']} ms, "
                f"max {lat['max']} ms, errors {result['errors_total']}"
            )
        with contextlib.suppress(Exception):
            client = redis_client()
            out["events_left_queued"] = queue_depth(client)
            client.close()
    finally:
        res.stop_all([ingest, bare], plan.stop_wait_seconds)
        res.drop_database(database_url)
        res.flush_redis()


# --- 2. end to end -----------------------------------------------------------------------------------


PARTITIONS = 32  # the product's default QUEUE_PARTITIONS, which the benchmark does not override


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=3)


def lease_holders(client: Any) -> list[str | None]:
    """Who holds each partition's lease (consumer names are host-pid-random)."""
    values: list[str | None] = client.mget([f"helpdesk:lease:{p}" for p in range(PARTITIONS)])
    return values


def queue_depth(client: Any) -> int:
    return sum(int(client.xlen(f"helpdesk:events:{p}")) for p in range(PARTITIONS))


def wait_leases(workers: list[Proc], timeout: float) -> dict[str, int]:
    """Until every worker holds some partitions and all partitions are leased (or `timeout`)."""
    client = redis_client()
    deadline = time.monotonic() + timeout
    held: dict[str, int] = {}
    try:
        while time.monotonic() < deadline:
            held = holder_counts(lease_holders(client), workers)
            if len(held) == len(workers) and sum(held.values()) == PARTITIONS:
                break
            time.sleep(0.1)
    finally:
        client.close()
    return held


def holder_counts(holders: list[str | None], workers: list[Proc]) -> dict[str, int]:
    names = {str(w.popen.pid): w.name for w in workers}
    counts: Counter[str] = Counter()
    for holder in holders:
        if holder:
            pid = holder.rsplit("-", 2)[-2] if holder.count("-") >= 2 else holder
            counts[names.get(pid, holder)] += 1
    return dict(counts)


class LeaseWatch:
    """Samples who holds the partitions while a pass runs: the worker processes should share them."""

    def __init__(self, workers: list[Proc], interval: float = 0.25) -> None:
        self.workers = workers
        self.interval = interval
        self.samples: list[dict[str, int]] = []
        self.handovers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = redis_client()
        previous: list[str | None] | None = None
        try:
            while not self._stop.is_set():
                with contextlib.suppress(Exception):
                    holders = lease_holders(client)
                    if previous is not None:
                        self.handovers += sum(1 for a, b in zip(previous, holders, strict=True) if a and b and a != b)
                    previous = holders
                    self.samples.append(holder_counts(holders, self.workers))
                self._stop.wait(self.interval)
        finally:
            client.close()

    def __enter__(self) -> LeaseWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def summary(self) -> dict[str, Any]:
        names = [w.name for w in self.workers]
        n = max(1, len(self.samples))
        return {
            "samples": len(self.samples),
            "mean_partitions_held": {name: round(sum(s.get(name, 0) for s in self.samples) / n, 1) for name in names},
            "share_of_time_holding_none": {
                name: round(sum(1 for s in self.samples if not s.get(name)) / n, 2) for name in names
            },
            "handovers": self.handovers,
        }


def commit_latency(database_url: str, count: int) -> dict[str, Any]:
    """One client, one-row INSERT + COMMIT in a loop: the floor under every write transaction."""
    import psycopg

    times: list[float] = []
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (id serial PRIMARY KEY, at double precision)")
        conn.commit()
        for _ in range(count):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe (at) VALUES (%s)", (started,))
            conn.commit()
            times.append((time.perf_counter() - started) * 1000)
        conn.execute("DROP TABLE bench_commit_probe")
        conn.commit()
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method')"
            ).fetchall()
        )
    return {"latency_ms": percentiles(times), "settings": settings}


def wait_answers(fake: Proc, procs: list[Proc], expected: int, deadline: float) -> dict[str, int]:
    stats: dict[str, int] = {}
    while True:
        stats = http_json("GET", fake.url + "/_fake/stats")
        if stats.get("reply", 0) + stats.get("push", 0) >= expected or time.monotonic() >= deadline:
            return stats
        dead = [p for p in procs if not p.alive()]
        if dead:
            raise RuntimeError(f"{dead[0].name} died during the run:\n{dead[0].tail()}")
        time.sleep(0.05)


def e2e_pass(
    plan: Plan, serve: Proc, workers: list[Proc], fake: Proc, *, events: int, users: int, pool: str, cap: float
) -> dict[str, Any]:
    """Send `events` webhooks at once; wait (at most `cap` seconds from the first send) for every answer."""
    http_json("POST", fake.url + "/_fake/reset")
    spec = {
        "mode": "batch",
        "host": "127.0.0.1",
        "port": serve.port,
        "events": events,
        "users": users,
        "user_pool": pool,
        "concurrency": plan.closed_concurrency,
        "text": E2E_TEXT,
    }
    meter = CpuMeter(
        {
            "serve": [serve.popen.pid],
            "workers": [w.popen.pid for w in workers],
            "redis": [redis_pid() or 0],
            "postgres (all)": postgres_pids(),
            "fake_line": [fake.popen.pid],
        }
    ).start()
    started = time.monotonic()
    with LeaseWatch(workers) as leases:
        sent = run_loadgen(spec, timeout=cap + 60)
        stats = wait_answers(fake, [serve, *workers], sent["accepted"], started + cap)
    cpu = meter.stop()
    cpu["loadgen"] = sent.get("cpu_s", 0.0)
    received = http_json("GET", fake.url + "/_fake/replies", timeout=30)
    replies: dict[str, float] = received["replies"]
    sends: dict[str, float] = sent["sends"]
    latencies = [(replies[t] - s) * 1000 for t, s in sends.items() if t in replies]
    answer_times = list(replies.values()) + [t for _, t in received["pushes"]]
    answered = len(latencies)
    complete = answered >= sent["accepted"] == events
    # Complete: first send → last answer. Capped: the rate while the queue was never empty.
    end = max(answer_times) if complete and answer_times else time.monotonic()
    elapsed = end - sent["first_send"]
    send_seconds = max(1e-9, sent["last_ack"] - sent["first_send"])
    return {
        "events_sent": events,
        "events_accepted": sent["accepted"],
        "answered_by_reply": answered,
        "complete": complete,
        "capped_after_s": None if complete else cap,
        "seconds": round(elapsed, 3),
        "events_per_s": round(answered / elapsed, 1) if elapsed > 0 else None,
        "latency_ms": percentiles(latencies),
        "latency_note": None if complete else "answered events only (capped): an underestimate",
        "pushes": stats.get("push", 0),
        "profile_fetches": stats.get("profile", 0),
        "loading_calls": stats.get("loading", 0),
        "fake_line": stats,
        "send_seconds": round(send_seconds, 3),
        "ingest_rate": round(sent["accepted"] / send_seconds, 1),
        "webhook_statuses": sent["statuses"],
        "webhook_errors": sent["errors"],
        "leases": leases.summary(),
        "cpu_s": cpu,
        "cpu_ms_per_answer": {name: round(v / max(1, answered) * 1000, 3) for name, v in cpu.items()},
        # Share of one core the helpers used: near 1.0 they, not the product, would be the limit.
        "helper_core_share": {
            "fake_line": round(cpu.get("fake_line", 0.0) / max(1e-9, time.monotonic() - started), 2),
        },
    }


def drain(cap: float) -> int:
    """Let the queue empty (a capped pass leaves a backlog); returns what is left."""
    client = redis_client()
    deadline = time.monotonic() + cap
    try:
        while (depth := queue_depth(client)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return depth
    finally:
        client.close()


def burst_size(plan: Plan, estimate: float | None) -> int:
    """Events for one pass: `e2e_events`, unless the last measured rate says they would take far too long."""
    if not estimate:
        return plan.e2e_events
    return max(plan.e2e_min_events, min(plan.e2e_events, int(estimate * plan.e2e_pass_target_seconds)))


def e2e_session(
    res: Resources,
    plan: Plan,
    fake: Proc,
    counts: tuple[int, ...],
    runs: list[dict[str, Any]],
    estimate: dict[str, float],
) -> None:
    """One database and `helpdesk serve --no-worker`; for each count, bring the workers up to it and measure.

    `estimate` carries the last measured events/s per worker from one session to the next.
    """
    database_url = res.create_database()
    res.flush_redis()
    probe = commit_latency(database_url, plan.commit_probe)
    env = helpdesk_env(database_url, fake.url)
    port = free_port()
    tag = "-".join(str(c) for c in counts)
    serve = res.start(
        f"e2e{tag}-serve",
        [HELPDESK, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        port=port,
    )
    workers: list[Proc] = []
    session_runs: list[dict[str, Any]] = []
    try:
        started = time.monotonic()
        serve.wait_http()  # migrations ran: the workers will find the schema in place
        serve_start = time.monotonic() - started
        for count in counts:
            started = time.monotonic()
            while len(workers) < count:
                workers.append(res.start(f"e2e{tag}-worker{len(workers) + 1}", [HELPDESK, "worker"], env=env))
            held = wait_leases(workers, plan.e2e_lease_wait_seconds)
            run: dict[str, Any] = {
                "workers": count,
                "serve_start_s": round(serve_start, 2),
                "leases_before": held,
                "lease_wait_s": round(time.monotonic() - started, 2),
                "commit_probe": probe,
                "passes": {},
            }
            runs.append(run)
            session_runs.append(run)
            if len(session_runs) == 1:
                # Prime: lazy imports, the NLU dictionaries, connection pools (users outside the measured pools).
                primer = e2e_pass(
                    plan,
                    serve,
                    workers,
                    fake,
                    events=plan.e2e_primer_events,
                    users=plan.e2e_primer_events,
                    pool=f"primer{tag}",
                    cap=max(plan.e2e_pass_cap_seconds, 10),
                )
                run["primer"] = {
                    k: primer[k] for k in ("events_sent", "answered_by_reply", "seconds", "events_per_s", "complete")
                }
                if primer["events_per_s"]:
                    estimate.setdefault("per_worker", primer["events_per_s"] / count)
            seen_users = 0
            for name in plan.e2e_passes:
                left = drain(plan.e2e_drain_cap_seconds)
                if left:
                    run["passes"][name] = {"skipped": f"{left} events still queued from the previous pass"}
                    say(f"  e2e {count} worker(s) {name:<13}: skipped, {left} events still queued")
                    continue
                per_worker = estimate.get("per_worker")
                events = burst_size(plan, per_worker * count if per_worker else None)
                # A returning user is one the previous pass saw; the first pass sees everyone for the first time.
                users = seen_users or min(plan.users, events)
                result = e2e_pass(
                    plan,
                    serve,
                    workers,
                    fake,
                    events=events,
                    users=users,
                    pool=f"e2e{tag}-w{count}",
                    cap=plan.e2e_pass_cap_seconds,
                )
                seen_users = seen_users or users
                result["users"] = users
                run["passes"][name] = result
                say_pass(count, name, result)
                if result["events_per_s"]:
                    estimate["per_worker"] = result["events_per_s"] / count
                if not result["complete"]:
                    result["backlog_discarded"] = discard_backlog()
    finally:
        stopped = res.stop_all([*workers, serve], plan.stop_wait_seconds)
        if session_runs:
            session_runs[-1]["stop_seconds"] = stopped
        res.drop_database(database_url)
        res.flush_redis()


def discard_backlog() -> int:
    """After a capped pass: drop the events no worker has read yet, so the next pass starts on an empty queue.

    The workers finish what they already hold (and acknowledge deleted entries harmlessly).
    """
    client = redis_client()
    try:
        dropped = 0
        for partition in range(PARTITIONS):
            dropped += int(client.xtrim(f"helpdesk:events:{partition}", maxlen=0, approximate=False))
        return dropped
    finally:
        client.close()


def say_pass(workers: int, name: str, result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    state = "" if result["complete"] else f" CAPPED at {result['capped_after_s']:.0f} s"
    say(
        f"  e2e {workers} worker(s) {name:<13}: {result['events_per_s']} events/s{state} "
        f"({result['answered_by_reply']}/{result['events_sent']} answered in {result['seconds']} s; "
        f"ingest {result['ingest_rate']:.0f}/s; send→reply p50 {lat['p50']} ms, p99 {lat['p99']} ms; "
        f"profiles {result['profile_fetches']}, pushes {result['pushes']}, loading {result['loading_calls']})"
    )
    say("      CPU ms/answer: " + ", ".join(f"{k} {v:.2f}" for k, v in result["cpu_ms_per_answer"].items()))
    leases = result["leases"]
    say(
        f"      partitions held (mean): {leases['mean_partitions_held']}; share of time holding none: "
        f"{leases['share_of_time_holding_none']}; lease handovers: {leases['handovers']}"
    )


def bench_e2e(res: Resources, plan: Plan, fake: Proc, runs: list[dict[str, Any]]) -> None:
    """Fills `runs` as it goes, so an interrupted run still reports what it measured."""
    estimate: dict[str, float] = {}
    if plan.e2e_fresh_setup:
        for count in plan.e2e_workers:
            say(f"end to end with {count} worker process(es), fresh database…")
            e2e_session(res, plan, fake, (count,), runs, estimate)
    else:
        say(f"end to end, adding worker processes one by one up to {max(plan.e2e_workers)}, one database…")
        e2e_session(res, plan, fake, plan.e2e_workers, runs, estimate)


# --- report ------------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "FAIL")


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def report(results: dict[str, Any], plan: Plan) -> str:
    lines: list[str] = []
    ctx = results["context"]
    rule = "-" * 110
    row = "{:<62} {:>26} {:>14} {:>5}"
    lines += ["", "=" * 110]
    lines.append(
        f"helpdesk benchmark ({results['mode']}, {results['status'].splitlines()[0][:60]})  commit {ctx['commit']}  "
        f"Python {ctx['python']}  CPUs {ctx['cpu_count']} (usable {ctx['cpus_usable']})"
    )
    lines.append(f"load average at start {ctx['load_average_start']}, at end {results.get('load_average_end')}")
    lines.append("=" * 110)
    lines.append(row.format("measure", "value", "target", ""))

    gen = results.get("generator")
    ingest = results.get("ingest") or {}
    if gen or ingest:
        lines += [rule, "1. webhook ingest (one uvicorn process; PostgreSQL + Redis for the real app)"]
    tested = max([plan.open_rate, *(ingest.get("best_rate") or {}).values()])
    if gen:
        headroom = gen["closed"]["rate"] / tested if tested else None
        lines.append(
            row.format(
                f"load generator vs trivial server, closed x{plan.closed_concurrency} (req/s)",
                f"{gen['closed']['rate']:.0f} ({fmt(headroom)}x tested)",
                f">= {TARGET_GENERATOR_HEADROOM:.0f}x tested",
                verdict(headroom is not None and headroom >= TARGET_GENERATOR_HEADROOM),
            )
        )
        lat = gen["open"]["latency_ms"]
        lines.append(
            row.format(
                f"  generator + loopback floor at {plan.open_rate:.0f} req/s: p50 / p99 (ms)",
                f"{fmt(lat['p50'], 2)} / {fmt(lat['p99'], 2)}",
                "",
                "",
            )
        )
    rounds = "best of " + str(plan.closed_rounds) if plan.closed_rounds > 1 else "1 run"
    for name, label in (("bare", "bare FastAPI route"), ("ingest", "webhook ingest")):
        runs = (ingest.get("closed") or {}).get(name) or []
        if not runs:
            continue
        best = max(runs, key=lambda r: r["rate"])
        cpu = best["cpu_us_per_request"]
        extra = f" + Redis {cpu['redis']:.0f}" if name == "ingest" else ""
        lines.append(
            row.format(
                f"{label}, closed x{plan.closed_concurrency}, {rounds} (req/s)",
                f"{best['rate']:.0f}"
                + (f" ({best['requests'] - best['ok']} non-200)" if best["ok"] < best["requests"] else ""),
                "",
                "",
            )
        )
        lines.append(row.format("  CPU per request in the server process (µs)", f"{cpu['server']:.0f}{extra}", "", ""))
    if ingest.get("ratio") is not None:
        ratio = ingest["ratio"]
        lines.append(
            row.format(
                "ingest throughput as % of the bare route",
                f"{ratio * 100:.0f} %",
                f">= {TARGET_INGEST_RATIO * 100:.0f} %",
                verdict(ratio >= TARGET_INGEST_RATIO),
            )
        )
    for name, label in (("bare", "bare route"), ("ingest", "webhook ingest")):
        o = (ingest.get("open") or {}).get(name)
        if not o:
            continue
        lat, snd = o["latency_ms"], o["latency_from_send_ms"]
        is_ingest = name == "ingest"
        ok = lat["p99"] is not None and lat["p99"] < TARGET_ACK_P99_MS and o["errors_total"] == 0
        lines.append(
            row.format(
                f"{label}, open loop {o['target_rate']:.0f} req/s: p50 / p99 / max (ms)",
                f"{fmt(lat['p50'], 2)} / {fmt(lat['p99'], 1)} / {fmt(lat['max'], 0)}",
                f"p99 < {TARGET_ACK_P99_MS:.0f} ms" if is_ingest else "",
                verdict(ok) if is_ingest else "",
            )
        )
        lines.append(
            row.format(
                "  errors (incl. unsent) / p99 from socket write / lag p99 (ms)",
                f"{o['errors_total']} / {fmt(snd['p99'])} / {fmt(o['send_lag_ms']['p99'])}",
                "",
                "",
            )
        )

    runs = results.get("e2e") or []
    if runs:
        lines += [
            rule,
            "2. end to end: signed webhook → `helpdesk serve --no-worker` → Redis → `helpdesk worker` → reply",
        ]
        probe = runs[0].get("commit_probe")
        if probe:
            lat = probe["latency_ms"]
            lines.append(
                row.format(
                    "  PostgreSQL INSERT+COMMIT, 1 client: p50 / p99 (ms)",
                    f"{fmt(lat['p50'], 2)} / {fmt(lat['p99'], 2)}",
                    "",
                    "",
                )
            )
    for run in runs:
        for name, p in run["passes"].items():
            label = f"{run['workers']} worker process(es), {name.replace('_', ' ')}"
            if "skipped" in p:
                lines.append(row.format(label, "skipped", "", ""))
                lines.append(f"    ({p['skipped']})")
                continue
            eps = p["events_per_s"]
            capped = "" if p["complete"] else " capped"
            lines.append(
                row.format(
                    f"{label} (events/s)",
                    f"{fmt(eps)}{capped}",
                    f">= {TARGET_E2E_EVENTS_PER_S:.0f}",
                    verdict(eps is not None and eps >= TARGET_E2E_EVENTS_PER_S and p["complete"]),
                )
            )
            lat = p["latency_ms"]
            lines.append(
                row.format(
                    "  answered / sent; send→reply p50 / p99 (ms)",
                    f"{p['answered_by_reply']}/{p['events_sent']}; {fmt(lat['p50'], 0)} / {fmt(lat['p99'], 0)}",
                    "",
                    "",
                )
            )
            cpu = p["cpu_ms_per_answer"]
            lines.append(
                row.format(
                    "  CPU per answered event, workers / serve (ms)",
                    f"{fmt(cpu.get('workers'), 2)} / {fmt(cpu.get('serve'), 2)}",
                    "",
                    "",
                )
            )
            leases = p["leases"]["mean_partitions_held"]
            lines.append(
                row.format(
                    "  partitions held per worker (mean); lease handovers",
                    " ".join(str(v) for v in leases.values()) + f"; {p['leases']['handovers']}",
                    "",
                    "",
                )
            )
    busy = [
        f"{helper} used {share:.0%} of a core during '{name}' with {run['workers']} worker(s)"
        for run in runs
        for name, p in run["passes"].items()
        for helper, share in (p.get("helper_core_share") or {}).items()
        if share > 0.7
    ]
    lines.append(rule)
    lines += [f"WARNING: {line}: the measurement may be limited by it." for line in busy]
    if runs:
        lines.append("End to end sends every event at once, so send→reply latency is mostly time spent queued.")
        lines.append("A capped pass stopped waiting after the cap: its events/s is the rate while the queue was full.")
    if ctx["load_average_start"][0] > 0.5 * (ctx["cpus_usable"] or 1):
        lines.append("NOTE: the machine was busy when the run started (load average): the numbers are noisy.")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (≤ ~45 s): for a smoke check")
    parser.add_argument("--skip-ingest", action="store_true", help="skip the ingest measurements")
    parser.add_argument("--skip-e2e", action="store_true", help="skip the end-to-end measurements")
    parser.add_argument("--workers", help="worker process counts for end to end, e.g. 1,2")
    parser.add_argument("--events", type=int, help="events per end-to-end pass")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    # Hidden sub-commands: the orchestrator runs this file as each of its helper processes.
    if argv and argv[0].startswith("_"):
        sub = argv[0]
        if sub == "_loadgen":
            return cmd_loadgen(argv[1])
        port = int(argv[argv.index("--port") + 1])
        return {"_fake-line": cmd_fake_line, "_bare-app": cmd_bare_app, "_trivial": cmd_trivial}[sub](port)

    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.workers:
        plan = Plan(**{**asdict(plan), "e2e_workers": tuple(int(w) for w in args.workers.split(","))})
    if args.events:
        plan = Plan(**{**asdict(plan), "e2e_events": args.events})
    if not Path(HELPDESK).exists():
        print(f"{HELPDESK} not found: install the project into this interpreter's environment", file=sys.stderr)
        return 2
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    def on_signal(*_: object) -> None:
        # The first Ctrl-C (or SIGTERM) stops the run; later ones must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full", "plan": asdict(plan)}
    results["context"] = machine_context()
    ctx = results["context"]
    say(
        f"CPUs {ctx['cpu_count']} (usable {ctx['cpus_usable']}), Python {ctx['python']}, "
        f"load average {ctx['load_average_start']}; logs in {LOG_DIR.relative_to(ROOT)}/"
    )
    started = time.monotonic()
    phases: dict[str, float] = {}
    results["phase_seconds"] = phases
    res = Resources()
    status = "complete"
    try:
        leftovers = res.drop_leftovers()
        if leftovers:
            say(f"dropped databases left by an earlier, killed run: {', '.join(leftovers)}")
        fake_port = free_port()
        fake = res.self_command("fake-line", "_fake-line", fake_port)
        fake.wait_http("/_fake/healthz")
        if not args.skip_ingest:
            say("load generator calibration (trivial asyncio server)…")
            mark = time.monotonic()
            results["generator"] = calibrate(res, plan)
            phases["calibration"] = round(time.monotonic() - mark, 1)
            gen = results["generator"]
            say(
                f"  closed loop {gen['closed']['rate']:.0f} req/s; open loop {plan.open_rate:.0f} req/s p99 "
                f"{gen['open']['latency_ms']['p99']} ms; webhook body {gen['closed']['body_bytes']} bytes "
                f"({gen['closed']['request_bytes']} with headers)"
            )
            say("webhook ingest vs bare FastAPI route…")
            results["ingest"] = {}
            mark = time.monotonic()
            bench_ingest(res, plan, fake, results["ingest"])
            phases["ingest"] = round(time.monotonic() - mark, 1)
        if not args.skip_e2e:
            results["e2e"] = []
            mark = time.monotonic()
            bench_e2e(res, plan, fake, results["e2e"])
            phases["end_to_end"] = round(time.monotonic() - mark, 1)
    except KeyboardInterrupt:
        status = "interrupted"
        say("\ninterrupted: cleaning up…")
    except Exception as exc:
        status = f"failed: {exc}"
        say(f"\nbenchmark failed: {exc}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leak a database
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        res.close(plan.stop_wait_seconds)
    results["status"] = status
    results["seconds"] = round(time.monotonic() - started, 1)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    try:
        say(report(results, plan))
    except Exception as exc:  # the JSON has everything; a partial run may lack what the table expects
        say(f"(no table: {type(exc).__name__}: {exc})")
    say(f"status: {status}; {results['seconds']} s {phases}; JSON in {os.path.relpath(args.output, ROOT)}")
    return 0 if status == "complete" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
