#!/usr/bin/env python
"""Plays the held-out multi-turn conversations (tests/data/conversations_heldout.yaml) through the real app.

Run from the repository root:

    .venv/bin/python benchmarks/conversations_heldout.py            # summary, PASS/FAIL per conversation,
                                                                   # transcripts of the failures
    .venv/bin/python benchmarks/conversations_heldout.py --all      # transcripts of every conversation
    .venv/bin/python benchmarks/conversations_heldout.py --only followup-payday --only cancel-por-laew

The app runs embedded (SQLite in a temporary directory, in-process queue) against the fake LINE platform
of the tests, exactly as tests/test_conversations_heldout.py runs it; nothing outside this machine is
contacted. The report is printed and written to benchmarks/results/conversations_heldout.txt (git-ignored).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import RunningApp, make_settings  # noqa: E402
from tests.support.fake_line import FakeLineServer  # noqa: E402
from tests.support.heldout import HELDOUT_FILE, ConversationResult, Player, load_conversations, report  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "conversations_heldout.txt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="print the transcript of every conversation")
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="play only this conversation")
    parser.add_argument("--file", type=Path, default=HELDOUT_FILE, help="the conversations file")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the report")
    args = parser.parse_args()

    conversations = load_conversations(args.file)
    if args.only:
        unknown = set(args.only) - {c["id"] for c in conversations}
        if unknown:
            parser.error(f"unknown conversation ids: {', '.join(sorted(unknown))}")
        conversations = [c for c in conversations if c["id"] in args.only]

    logging.disable(logging.WARNING)  # the app's JSON logs would bury the report

    def progress(result: ConversationResult) -> None:
        print(f"{'PASS' if result.passed else 'FAIL'}  {result.id}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="heldout-") as directory:
        url = f"sqlite:///{directory}/helpdesk.db"
        with FakeLineServer() as fake, RunningApp(make_settings(url, fake, log_level="WARNING")) as app:
            results = Player(app.url, fake, url).play_all(conversations, progress)

    text = report(results, everything=args.all)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"(written to {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
