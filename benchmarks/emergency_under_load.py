#!/usr/bin/env python
"""How long an emergency waits for its reply while 1,000 ordinary events are queued (issue 8).

Run from the repository root:

    .venv/bin/python benchmarks/emergency_under_load.py [--mode embedded|redis|both] [--events 1000]

For each mode it starts the product (`helpdesk serve`: embedded = SQLite and in-process workers, no Redis;
redis = PostgreSQL, `helpdesk serve --no-worker` and `--workers` × `helpdesk worker` on Redis Streams) against
the fake LINE platform in its own process, primes it (NLU loaded, pools open), then:

1. sends `--events` ordinary text webhooks (one event each, signed, from `--users` users) as fast as 32
   connections allow;
2. the moment the last one is acknowledged, sends one emergency ("ช่วยด้วย สามีกำลังทุบตีหนู") from a user
   nobody else is, and notes how many ordinary events were still unanswered (the queue ahead of it);
3. waits for the emergency's reply at the fake LINE and prints the time from its send to the reply's arrival
   (both on this machine's monotonic clock), checks the reply carries the hotlines, then waits for the
   ordinary events to drain.

It measures; it changes nothing in the queue (issue 11 owns a priority path). The target in the issue is
2 s. It reuses `benchmarks/bench.py`'s processes, signed bodies and load generator, so the same notes apply
(README): PostgreSQL at BENCH_POSTGRES_URL, and the Redis database at BENCH_REDIS_URL **is flushed**.
Results go to benchmarks/results/emergency.json (git-ignored), process logs to benchmarks/results/logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # benchmarks/ is not a package: imported from its folder

EMERGENCY_TEXT = "ช่วยด้วย สามีกำลังทุบตีหนูอยู่ตอนนี้"
ORDINARY_TEXT = "สวัสดีค่ะ ขอสอบถามเรื่องเบี้ยยังชีพผู้สูงอายุ ต้องลงทะเบียนที่ไหนคะ"
HOTLINES = ("1300", "191")
TARGET_SECONDS = 2.0


async def _send_one(port: int, text: str, user: str) -> tuple[float, float, str, int]:
    """(sent at, acknowledged at, its reply token, HTTP status) for one signed webhook."""
    bodies = bench.WebhookBodies(host=f"127.0.0.1:{port}", text=text, users=[user])
    data, token = bodies.next()
    client = bench.Client("127.0.0.1", port)
    try:
        sent = time.monotonic()
        status = await client.send(data, 10.0)
        return sent, time.monotonic(), token, status
    finally:
        client.close()


def send_one(port: int, text: str, user: str) -> tuple[float, float, str, int]:
    return asyncio.run(_send_one(port, text, user))


def answered(fake: bench.Proc) -> int:
    stats = bench.http_json("GET", fake.url + "/_fake/stats")
    return int(stats.get("reply", 0)) + int(stats.get("push", 0))


def wait_for(predicate: Any, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def reply_text(fake: bench.Proc, token: str, user: str) -> str:
    """What the emergency's reply (or the push that replaced it) said, texts and Flex alt texts."""
    calls = bench.http_json("GET", fake.url + "/_fake/calls", timeout=30)["calls"]
    said: list[str] = []
    for call in calls:
        body = call.get("body") or {}
        if call.get("status") != 200 or not isinstance(body, dict):
            continue
        if body.get("replyToken") == token or (call.get("endpoint") == "push" and body.get("to") == user):
            said += [json.dumps(m, ensure_ascii=False) for m in body.get("messages") or []]
    return "\n".join(said)


def run_mode(res: bench.Resources, fake: bench.Proc, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="helpdesk-emergency-")
    if mode == "embedded":
        database_url = f"sqlite:///{tmp}/bench.db"
        env = bench.helpdesk_env(database_url, fake.url)
        env.pop("REDIS_URL")
    else:
        database_url = res.create_database()
        res.flush_redis()
        env = bench.helpdesk_env(database_url, fake.url)
    port = bench.free_port()
    argv = [bench.HELPDESK, "serve", "--host", "127.0.0.1", "--port", str(port)]
    serve = res.start(
        f"emergency-{mode}-serve", argv + (["--no-worker"] if mode == "redis" else []), env=env, port=port
    )
    workers: list[bench.Proc] = []
    try:
        serve.wait_http()
        if mode == "redis":
            workers = [
                res.start(f"emergency-{mode}-worker{n + 1}", [bench.HELPDESK, "worker"], env=env)
                for n in range(args.workers)
            ]
            bench.wait_leases(workers, 30.0)
        # Prime: NLU, connection pools, lazy imports (users outside the measured pool).
        bench.http_json("POST", fake.url + "/_fake/reset")
        primer = bench.run_loadgen(
            {
                "mode": "batch",
                "host": "127.0.0.1",
                "port": port,
                "events": 20,
                "users": 20,
                "user_pool": f"primer-{mode}",
                "concurrency": 4,
                "text": ORDINARY_TEXT,
            },
            timeout=60,
        )
        wait_for(lambda: answered(fake) >= primer["accepted"], 60)
        bench.http_json("POST", fake.url + "/_fake/reset")

        # 1. the ordinary load
        load = bench.run_loadgen(
            {
                "mode": "batch",
                "host": "127.0.0.1",
                "port": port,
                "events": args.events,
                "users": args.users,
                "user_pool": f"ordinary-{mode}",
                "concurrency": 32,
                "text": ORDINARY_TEXT,
            },
            timeout=120,
        )
        # 2. the emergency, right behind it
        before = answered(fake)
        emergency_user = bench.user_id(f"emergency-{mode}", os.getpid())
        sent, acked, token, status = send_one(port, EMERGENCY_TEXT, emergency_user)
        queued = load["accepted"] - before

        # 3. its reply
        def emergency_reply() -> float | None:
            got = bench.http_json("GET", fake.url + "/_fake/replies", timeout=30)
            if token in got["replies"]:
                return float(got["replies"][token])
            pushed = [at for to, at in got["pushes"] if to == emergency_user]
            return float(pushed[0]) if pushed else None

        arrival = None
        deadline = time.monotonic() + 60
        while arrival is None and time.monotonic() < deadline:
            arrival = emergency_reply()
            time.sleep(0.01)
        reply_seconds = arrival - sent if arrival is not None else None
        text = reply_text(fake, token, emergency_user) if arrival is not None else ""

        # then the ordinary events drain
        drained = wait_for(lambda: answered(fake) >= load["accepted"] + 1, args.drain_cap, 0.1)
        got = bench.http_json("GET", fake.url + "/_fake/replies", timeout=30)
        latencies = [(got["replies"][t] - s) * 1000 for t, s in load["sends"].items() if t in got["replies"]]
        last = max(got["replies"].values(), default=None)
        return {
            "mode": mode,
            "workers": "in-process" if mode == "embedded" else args.workers,
            "ordinary_events_sent": args.events,
            "ordinary_events_accepted": load["accepted"],
            "users": args.users,
            "send_seconds": round(load["last_ack"] - load["first_send"], 3),
            "queued_ahead_of_emergency": queued,
            "emergency_status": status,
            "emergency_ack_ms": round((acked - sent) * 1000, 1),
            "emergency_reply_s": round(reply_seconds, 3) if reply_seconds is not None else None,
            "emergency_reply_has_hotlines": all(number in text for number in HOTLINES),
            "within_target": reply_seconds is not None and reply_seconds <= TARGET_SECONDS,
            "ordinary_drained": drained,
            "ordinary_drain_s": round(last - load["first_send"], 2) if drained and last else None,
            "ordinary_latency_ms": bench.percentiles(latencies),
        }
    finally:
        res.stop_all([*workers, serve], 10.0)
        if mode == "redis":
            res.drop_database(database_url)
            res.flush_redis()


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        f"Emergency reply while ordinary events are queued (target: within {TARGET_SECONDS:.0f} s)",
        "",
        f"{'mode':<10}{'workers':>11}{'sent':>7}{'queued ahead':>14}{'ack ms':>8}{'reply s':>9}"
        f"{'hotlines':>10}{'target':>8}{'drain s':>9}{'ordinary p50/p99 ms':>22}",
    ]
    for r in results:
        latency = r["ordinary_latency_ms"]
        reply = "—" if r["emergency_reply_s"] is None else f"{r['emergency_reply_s']:.3f}"
        lines.append(
            f"{r['mode']:<10}{r['workers']!s:>11}{r['ordinary_events_accepted']:>7}{r['queued_ahead_of_emergency']:>14}"
            f"{r['emergency_ack_ms']:>8.1f}{reply:>9}{'yes' if r['emergency_reply_has_hotlines'] else 'NO':>10}"
            f"{'met' if r['within_target'] else 'MISSED':>8}{r['ordinary_drain_s']!s:>9}"
            f"{latency['p50']!s:>11}/{latency['p99']!s:<10}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--events", type=int, default=1000, help="ordinary events queued before the emergency")
    parser.add_argument("--users", type=int, default=250, help="how many users send them")
    parser.add_argument("--workers", type=int, default=1, help="`helpdesk worker` processes in redis mode")
    parser.add_argument("--drain-cap", type=float, default=180.0, help="seconds to wait for the ordinary events")
    parser.add_argument("--output", type=Path, default=bench.RESULTS_DIR / "emergency.json")
    args = parser.parse_args(argv)

    bench.LOG_DIR.mkdir(parents=True, exist_ok=True)
    res = bench.Resources()
    results: list[dict[str, Any]] = []
    try:
        fake_port = bench.free_port()
        fake = res.self_command("emergency-fake-line", "_fake-line", fake_port)
        fake.wait_http("/_fake/healthz")
        for mode in ("embedded", "redis") if args.mode == "both" else (args.mode,):
            bench.say(f"{mode}: {args.events} ordinary events from {args.users} users, then one emergency …")
            results.append(run_mode(res, fake, mode, args))
            bench.say(f"  emergency reply after {results[-1]['emergency_reply_s']} s")
    finally:
        res.close(10.0)
    context = {"machine": bench.machine_context(), "results": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(context, ensure_ascii=False, indent=2))
    print()
    print(report(results))
    print(f"\n(raw numbers: {args.output})")
    return 0 if all(r["within_target"] and r["emergency_reply_has_hotlines"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
