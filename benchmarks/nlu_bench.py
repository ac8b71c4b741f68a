"""Speed and size of Thai understanding (not a test): start-up, messages/s, memory, nlpo3 vs newmm.

    .venv/bin/python benchmarks/nlu_bench.py

Each measurement runs in a fresh interpreter so imports and memory are counted honestly.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

PROBE = textwrap.dedent(
    """
    import json, os, resource, sys, time
    started = time.perf_counter()
    from bot.nlu.pipeline import Understander
    from bot.nlu.entities import warm_up as warm_entities
    from knowledge.loader import load_knowledge
    understander = Understander(load_knowledge(), engine=sys.argv[1]); warm_entities()
    startup = time.perf_counter() - started
    from bot.nlu.evaluate import evaluate, load_test_set
    pairs = load_test_set()
    texts = [t for t, _ in pairs]
    knowledge = load_knowledge()
    texts += [e for i in knowledge.intents.values() for e in i.examples]
    texts = (texts * 3)[:3000]
    understander.understand_many(texts[:200])  # warm-up
    t = time.perf_counter(); understander.understand_many(texts); batch = len(texts) / (time.perf_counter() - t)
    t = time.perf_counter()
    for text in texts[:1500]:
        understander.understand(text)
    single = 1500 / (time.perf_counter() - t)
    tokens_t = time.perf_counter()
    for text in texts:
        understander.tokeniser.tokens(text)
    tokenise = len(texts) / (time.perf_counter() - tokens_t)
    report = evaluate(understander, pairs)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"startup_s": startup, "batch_per_s": batch, "single_per_s": single, "tokenise_per_s": tokenise,
                      "accuracy": report.accuracy, "emergency_recall": report.emergency_recall,
                      "false_emergency": report.false_emergency_rate, "max_rss_mb": rss_mb,
                      "sklearn_imported": "sklearn" in sys.modules}))
    """
)


def run(engine: str, cache_dir: str) -> dict[str, float]:
    env = dict(os.environ, HELPDESK_CACHE_DIR=cache_dir)
    done = subprocess.run([sys.executable, "-c", PROBE, engine], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n")
    rows = []
    for engine in ("nlpo3", "newmm"):
        with tempfile.TemporaryDirectory() as cache:
            cold = run(engine, cache)  # empty cache: trains the model (imports scikit-learn)
            warm = [run(engine, cache) for _ in range(3)]  # the model comes from the cache
        rows.append((engine, cold, warm))
    header = f"{'':28s}" + "".join(f"{engine:>16s}" for engine, _, _ in rows)
    print(header)

    def line(name: str, values: list[str]) -> None:
        print(f"{name:28s}" + "".join(f"{v:>16s}" for v in values))

    line("start-up, cold cache (s)", [f"{cold['startup_s']:.2f}" for _, cold, _ in rows])
    line("start-up, warm cache (s)", [f"{statistics.median(w['startup_s'] for w in warm):.2f}" for _, _, warm in rows])
    line("batch (messages/s)", [f"{statistics.median(w['batch_per_s'] for w in warm):,.0f}" for _, _, warm in rows])
    line(
        "one at a time (messages/s)",
        [f"{statistics.median(w['single_per_s'] for w in warm):,.0f}" for _, _, warm in rows],
    )
    line(
        "tokenise only (messages/s)",
        [f"{statistics.median(w['tokenise_per_s'] for w in warm):,.0f}" for _, _, warm in rows],
    )
    line("max resident (MB), warm", [f"{max(w['max_rss_mb'] for w in warm):.0f}" for _, _, warm in rows])
    line("max resident (MB), cold", [f"{cold['max_rss_mb']:.0f}" for _, cold, _ in rows])
    line("held-out accuracy", [f"{cold['accuracy']:.3f}" for _, cold, _ in rows])
    line("emergency recall", [f"{cold['emergency_recall']:.3f}" for _, cold, _ in rows])
    line("false emergencies", [f"{cold['false_emergency']:.2%}" for _, cold, _ in rows])
    line("scikit-learn imported, warm", [str(warm[0]["sklearn_imported"]) for _, _, warm in rows])
    print("\ntargets: batch >= 5,000/s, one at a time >= 1,500/s, start-up <= 2 s, <= 200 MB")


if __name__ == "__main__":
    main()
