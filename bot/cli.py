"""The `helpdesk` command: serve, demo, worker, nlu, knowledge check, officers add."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.logs import configure_logging
from bot.settings import MissingSetting, Settings

log = logging.getLogger("helpdesk")
NLU_BATCH = 256


def _serve(settings: Settings, host: str, port: int, run_workers: bool) -> int:
    import uvicorn

    from bot.app import create_app

    app = create_app(settings, run_workers=run_workers)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    log.info(
        "serving",
        extra={"host": host, "port": port, "workers": run_workers, "redis": settings.uses_redis, "demo": settings.demo},
    )
    uvicorn.Server(config).run()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings()
    settings.require_production_secrets()  # before anything heavy: a missing secret stops us at once
    if settings.secret_key_generated and not settings.demo:
        log.warning("SECRET_KEY is not set: generated one for this embedded run; set it for anything but a laptop")
    return _serve(settings, args.host, args.port, not args.no_worker)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings(demo=True)
    fake = f"http://127.0.0.1:{args.port}/fake-line"
    settings.line_api_base_url = fake
    settings.line_data_api_base_url = fake
    print(f"พม. ช่วยได้ (demo): open http://127.0.0.1:{args.port}/simulator", file=sys.stderr)
    print(_seed_demo(settings, f"http://127.0.0.1:{args.port}"), file=sys.stderr, flush=True)
    return _serve(settings, args.host, args.port, True)


def _seed_demo(settings: Settings, base_url: str) -> str:
    """Demo officers and tickets (bot/demo/seed.py); returns how to sign in."""
    from bot.demo.seed import seed, sign_in_help
    from storage import migrate
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        return sign_in_help(base_url, seed(db))
    finally:
        db.dispose()


def cmd_worker(_: argparse.Namespace) -> int:
    from bot.runtime import Runtime

    settings = Settings()
    if not settings.redis_url:
        print("helpdesk worker needs REDIS_URL: without it, `helpdesk serve` runs the workers itself", file=sys.stderr)
        return 2

    async def run() -> None:
        runtime = Runtime(settings)
        await runtime.start(workers=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("worker running")
        await stop.wait()
        await runtime.stop()

    asyncio.run(run())
    return 0


def cmd_nlu(args: argparse.Namespace) -> int:
    from bot.nlu import warm_up

    understander = warm_up()
    if args.evaluate is not None:
        from bot.nlu.evaluate import TEST_FILES, evaluate, format_report, load_test_set

        files = [Path(p) for p in args.evaluate] or list(TEST_FILES)
        print(format_report(evaluate(understander, load_test_set(files)), show_mistakes=args.mistakes))
        return 0
    batch: list[str] = []

    def flush() -> None:
        for text, result in zip(batch, understander.understand_many(batch), strict=True):
            record = {
                "text": text,
                "intent": result.intent,
                "confidence": result.confidence,
                "entities": result.entities,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        batch.clear()

    for line in sys.stdin:
        batch.append(line.rstrip("\r\n"))
        if len(batch) >= NLU_BATCH:
            flush()
    flush()
    return 0


def cmd_knowledge_check(_: argparse.Namespace) -> int:
    from bot.nlu.geography import load_alias_file
    from knowledge.loader import load_knowledge

    try:
        knowledge = load_knowledge()
        load_alias_file()
    except (ValidationError, ValueError) as exc:
        print(f"knowledge is invalid:\n{exc}", file=sys.stderr)
        return 1
    from bot.nlu import warm_up

    warm_up()  # the intent model trains (and is cached) from these phrases, or this fails
    examples = sum(len(i.examples) for i in knowledge.intents.values())
    print(
        f"knowledge ok: {len(knowledge.intents)} intents with {examples} example phrases, "
        f"{sum(len(p) for p in knowledge.danger.categories.values())} danger phrases, "
        f"{len(knowledge.hotlines.hotlines)} hotlines, {len(knowledge.replies.main_menu)} menu items, "
        f"{len(knowledge.programmes)} programmes"
    )
    return 0


LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")


def resolve_provinces(names: Sequence[str]) -> list[str]:
    """Province codes for names given on the command line: official Thai or English names or common aliases
    ("โคราช"); raises ValueError naming what was not understood."""
    from bot.nlu.geography import canonical_province
    from storage.officers import province_code

    codes: list[str] = []
    for name in names:
        official = canonical_province(name)
        code = province_code(official) if official else None
        if code is None:
            raise ValueError(
                f"unknown province {name!r}: give the official Thai name (e.g. นครราชสีมา), "
                "its English name (Nakhon Ratchasima) or a common alias (โคราช)"
            )
        codes.append(code)
    return codes


def cmd_officers_add(args: argparse.Namespace) -> int:
    from storage import migrate
    from storage.db import Database
    from storage.officers import OfficerError, OfficerRole, create_officer, province_name

    try:
        codes = resolve_provinces(args.province or [])
    except ValueError as exc:
        print(f"helpdesk officers add: {exc}", file=sys.stderr)
        return 2
    if args.line_user_id and not LINE_USER_ID.match(args.line_user_id):
        print(
            "helpdesk officers add: --line-user-id must be a LINE user ID: U followed by 32 hex digits",
            file=sys.stderr,
        )
        return 2
    settings = Settings()
    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.session() as db_session:
            officer = create_officer(
                db_session=db_session,
                username=args.username,
                password=args.password,
                role=OfficerRole(args.role),
                province_codes=codes,
                display_name=args.display_name,
                line_user_id=args.line_user_id,
            )
            username, role = officer.username, officer.role.value
    except OfficerError as exc:
        print(f"helpdesk officers add: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    where = ", ".join(province_name(c) or c for c in dict.fromkeys(codes)) or "every province (admin)"
    print(f"officer {username} added: {role}, {where}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpdesk", description="พม. ช่วยได้: the welfare help desk on LINE")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("serve", cmd_serve, "serve the webhook (and run queue workers in this process)"),
        ("demo", cmd_demo, "serve with the LINE simulator at /simulator and a fake LINE platform"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
        if name == "serve":
            sub.add_argument(
                "--no-worker", action="store_true", help="accept events only; `helpdesk worker` processes them"
            )
        sub.set_defaults(func=func)
    commands.add_parser("worker", help="extra queue workers in their own process (needs REDIS_URL)").set_defaults(
        func=cmd_worker
    )
    nlu = commands.add_parser("nlu", help="one message per stdin line → one JSON object per stdout line")
    nlu.add_argument(
        "--evaluate",
        nargs="*",
        metavar="FILE",
        help="print accuracy, macro-F1, per-intent scores and confusions on the held-out test files (or FILEs)",
    )
    nlu.add_argument("--mistakes", action="store_true", help="with --evaluate: list every misclassified message")
    nlu.set_defaults(func=cmd_nlu)
    knowledge = commands.add_parser("knowledge", help="content in knowledge/")
    knowledge_commands = knowledge.add_subparsers(dest="knowledge_command", required=True)
    knowledge_commands.add_parser("check", help="validate everything in knowledge/").set_defaults(
        func=cmd_knowledge_check
    )
    officers = commands.add_parser("officers", help="officers of the provincial offices")
    officers_commands = officers.add_subparsers(dest="officers_command", required=True)
    add = officers_commands.add_parser("add", help="add an officer who can sign in to the API and console")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", required=True, choices=["officer", "supervisor", "admin"])
    add.add_argument(
        "--province",
        action="append",
        metavar="NAME",
        help="the officer's province (official Thai name, English name or a common alias); repeat for several",
    )
    add.add_argument("--line-user-id", metavar="U", help="the officer's LINE user ID, for urgent alerts by push")
    add.add_argument("--display-name", metavar="NAME")
    add.set_defaults(func=cmd_officers_add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(Settings().log_level if args.command != "nlu" else "WARNING")
    try:
        return int(args.func(args))
    except MissingSetting as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
