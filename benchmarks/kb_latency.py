"""Latency of the knowledge base: loading, one question, and ``coopbot ask`` end to end.

Also the matcher on a synthetic base of 10,000 entries (``--synthetic N``), built from
the shipped entries' vocabulary plus made-up words, to see how a much larger base
would answer. Run: ``python benchmarks/kb_latency.py [--rounds 20] [--cli-runs 10]``.
Prints figures, asserts nothing, and ends with one ``RESULT`` line:
``median_ms`` and ``p99_ms`` at 10,000 entries, ``shipped_median_ms``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.base import load_knowledge  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from knowledge.model import Entry  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "kb_dev.yaml"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def synthetic_entries(shipped: tuple[Entry, ...], count: int, seed: int = 7) -> list[Entry]:
    """``count`` entries shaped like the shipped ones: real words mixed with made-up ones."""
    rng = random.Random(seed)
    real = sorted({w for e in shipped for w in f"{e.title} {' '.join(e.questions)}".split()
                   if len(w) > 3})
    syllables = ["ta", "ro", "mi", "ven", "cor", "lu", "pa", "tri", "ne", "sol", "dur", "ga"]
    made_up = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
                      for _ in range(20_000)})

    def words(n: int) -> str:
        return " ".join(rng.choice(real) if rng.random() < 0.5 else rng.choice(made_up)
                        for _ in range(n))

    return [
        Entry(id=f"synthetique/{i}", kind=rng.choice(("forme", "contact", "outil", "notion")),
              title=words(4), short=words(1), questions=tuple(words(7) for _ in range(4)),
              keywords=tuple(words(2) for _ in range(6)), answer=words(40))
        for i in range(count)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the questions")
    parser.add_argument("--cli-runs", type=int, default=10, help="coopbot ask processes")
    parser.add_argument("--synthetic", type=int, default=10_000, help="entries of the large base")
    args = parser.parse_args(argv)

    loads = []
    for _ in range(5):
        start = time.perf_counter()
        kb = load_knowledge()
        loads.append((time.perf_counter() - start) * 1000)
    questions = [item["q"] for item in yaml.safe_load(DATA.read_text(encoding="utf-8"))]
    first = []
    for question in questions:  # cold: typo cache empty for these words
        start = time.perf_counter()
        kb.ask(question)
        first.append((time.perf_counter() - start) * 1000)
    warm = []
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for question in questions:
            start = time.perf_counter()
            kb.ask(question)
            elapsed = (time.perf_counter() - start) * 1000
            warm.append(elapsed)
            best[question] = min(best.get(question, elapsed), elapsed)
    print(
        f"Chargement de la base ({len(kb.entries)} fiches) : médiane "
        f"{statistics.median(loads):.1f} ms, min {min(loads):.1f} ms"
    )
    print(
        f"Question, premier passage ({len(first)}) : médiane {statistics.median(first):.3f} ms, "
        f"p99 {_pct(first, 0.99):.3f} ms, max {max(first):.3f} ms"
    )
    print(
        f"Question, passages suivants ({len(warm)}) : médiane {statistics.median(warm):.3f} ms, "
        f"p99 {_pct(warm, 0.99):.3f} ms, max {max(warm):.3f} ms"
    )

    intrinsic = list(best.values())
    print(
        f"Coût propre d'une question (meilleur des {args.rounds} passages) : médiane "
        f"{statistics.median(intrinsic):.3f} ms, max {max(intrinsic):.3f} ms "
        "(les pics du p99 ci-dessus viennent de la charge de la machine)"
    )

    start = time.perf_counter()
    large = Matcher(synthetic_entries(kb.entries, args.synthetic), kb.normaliser)
    built_s = time.perf_counter() - start
    for question in questions:  # warm the typo cache once, as a running bot would be
        large.ask(question)
    large_times = []
    for _ in range(max(1, args.rounds // 4)):
        for question in questions:
            start = time.perf_counter()
            large.ask(question)
            large_times.append((time.perf_counter() - start) * 1000)
    print(
        f"Base synthétique de {args.synthetic} fiches (construite en {built_s:.1f} s) : "
        f"médiane {statistics.median(large_times):.3f} ms, p99 {_pct(large_times, 0.99):.3f} ms, "
        f"max {max(large_times):.3f} ms par question"
    )

    walls = []
    command = [sys.executable, "-m", "bot.cli", "ask", "--json", "qui contacter pour un DLA"]
    for _ in range(args.cli_runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        walls.append((time.perf_counter() - start) * 1000)
    bare = []
    for _ in range(args.cli_runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, capture_output=True, check=True)
        bare.append((time.perf_counter() - start) * 1000)
    print(
        f"coopbot ask --json, processus complet ({len(walls)}) : médiane "
        f"{statistics.median(walls):.0f} ms, min {min(walls):.0f} ms, max {max(walls):.0f} ms "
        f"(python seul : médiane {statistics.median(bare):.0f} ms)"
    )
    print(
        f"RESULT median_ms={statistics.median(large_times):.3f} "
        f"p99_ms={_pct(large_times, 0.99):.3f} shipped_median_ms={statistics.median(warm):.3f} "
        f"entries={args.synthetic} ask_wall_ms={statistics.median(walls):.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
