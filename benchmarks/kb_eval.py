"""Accuracy and latency of the knowledge-base matcher, with two baselines.

Run: ``python benchmarks/kb_eval.py [--data benchmarks/data/kb_dev.yaml] [--errors]``.
Prints top-1, top-3, out-of-scope rejection and per-question latency (median, p99)
for Coopbot's matcher and, in the same run, for ``rapidfuzz.process.extractOne``
with its defaults and ``difflib.get_close_matches`` over the same phrasings. One
question in three (index % 3 == 2) is the held-out half: it was not looked at while
tuning, so its figures say how well the matcher generalises.

``benchmarks/data/kb_blind.yaml`` (``--blind``) is a separate, wholly held-out set:
questions on the topics added by issue 14, written before their entries and never used
to tune the entries or the matcher. It is reported apart, as a whole; ``--errors`` does
not list its mistakes, so that nobody tunes against them by accident.
"""

from __future__ import annotations

import argparse
import difflib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.base import KnowledgeBase, load_knowledge  # noqa: E402

DEFAULT_DATA = ROOT / "benchmarks" / "data" / "kb_dev.yaml"
BLIND_DATA = ROOT / "benchmarks" / "data" / "kb_blind.yaml"
Predict = Callable[[str], list[str]]
"""A system under test: question → entry ids, best first; [] means « je ne sais pas »."""


@dataclass
class Figures:
    top1: float
    top3: float
    rejection: float
    median_ms: float
    p99_ms: float
    in_scope: int
    out_of_scope: int


def evaluate(predict: Predict, items: list[dict]) -> tuple[Figures, list[str]]:
    hits1 = hits3 = rejected = 0
    timings: list[float] = []
    errors: list[str] = []
    in_scope = [item for item in items if item["id"]]
    out_scope = [item for item in items if not item["id"]]
    for item in items:
        start = time.perf_counter()
        ids = predict(item["q"])
        timings.append((time.perf_counter() - start) * 1000)
        expected = item["id"]
        if expected:
            hits1 += bool(ids) and ids[0] == expected
            hits3 += expected in ids[:3]
            if not ids or ids[0] != expected:
                errors.append(f"  {item['q']!r}: attendu {expected}, obtenu {ids[:3] or 'inconnu'}")
        else:
            rejected += not ids
            if ids:
                errors.append(f"  {item['q']!r}: hors sujet, obtenu {ids[:3]}")
    timings.sort()
    figures = Figures(
        top1=hits1 / max(1, len(in_scope)),
        top3=hits3 / max(1, len(in_scope)),
        rejection=rejected / max(1, len(out_scope)),
        median_ms=statistics.median(timings) if timings else 0.0,
        p99_ms=timings[min(len(timings) - 1, int(0.99 * len(timings)))] if timings else 0.0,
        in_scope=len(in_scope),
        out_of_scope=len(out_scope),
    )
    return figures, errors


def coopbot(kb: KnowledgeBase) -> Predict:
    def predict(question: str) -> list[str]:
        return [scored.entry.id for scored in kb.ask(question, top=3).answers]

    return predict


def phrasings(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """The same phrasings the matcher indexes (title and typical questions)."""
    texts: list[str] = []
    owners: list[str] = []
    for entry in kb.entries:
        for text in (entry.title, *entry.questions):
            texts.append(text)
            owners.append(entry.id)
    return texts, owners


def rapidfuzz_baseline(kb: KnowledgeBase) -> Predict:
    texts, owners = phrasings(kb)

    def predict(question: str) -> list[str]:
        found = process.extractOne(question, texts)  # defaults: WRatio, no processor
        if found is None:
            return []
        ranked = [owners[i] for _, _, i in process.extract(question, texts, limit=10)]
        ids = [owners[found[2]], *ranked]
        return list(dict.fromkeys(ids))

    return predict


def difflib_baseline(kb: KnowledgeBase) -> Predict:
    texts, owners = phrasings(kb)
    owner_of = dict(zip(texts, owners, strict=True))

    def predict(question: str) -> list[str]:
        matches = difflib.get_close_matches(question, texts, n=10)  # defaults: cutoff 0.6
        return list(dict.fromkeys(owner_of[m] for m in matches))

    return predict


def _row(name: str, figures: Figures) -> str:
    return (
        f"{name:<28} {figures.top1:7.1%} {figures.top3:7.1%} {figures.rejection:10.1%} "
        f"{figures.median_ms:9.3f} {figures.p99_ms:8.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--errors", action="store_true", help="list Coopbot's mistakes")
    parser.add_argument("--blind", type=Path, default=BLIND_DATA,
                        help="wholly held-out set, reported apart (never tune against it)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    kb = load_knowledge()
    load_ms = (time.perf_counter() - start) * 1000
    items = yaml.safe_load(args.data.read_text(encoding="utf-8"))
    tune = [item for i, item in enumerate(items) if i % 3 != 2]
    held_out = [item for i, item in enumerate(items) if i % 3 == 2]
    systems = {
        "coopbot": coopbot(kb),
        "rapidfuzz extractOne": rapidfuzz_baseline(kb),
        "difflib get_close_matches": difflib_baseline(kb),
    }
    coopbot(kb)("échauffement")  # first call fills caches; not what a user waits for
    print(
        f"Base : {len(kb.entries)} fiches, chargée en {load_ms:.0f} ms. "
        f"Questions : {len(items)} ({sum(1 for i in items if not i['id'])} hors sujet)."
    )
    all_errors: list[str] = []
    for label, subset in (
        ("toutes", items),
        ("réglage (2/3)", tune),
        ("tenues à l'écart (1/3)", held_out),
    ):
        n_in = sum(1 for i in subset if i["id"])
        print(f"\n== {label} : {n_in} dans le périmètre, {len(subset) - n_in} hors sujet ==")
        print(
            f"{'système':<28} {'top-1':>7} {'top-3':>7} {'rejet HS':>10} "
            f"{'méd. ms':>9} {'p99 ms':>8}"
        )
        for name, predict in systems.items():
            figures, errors = evaluate(predict, subset)
            print(_row(name, figures))
            if name == "coopbot" and label == "toutes":
                all_errors = errors
    if args.blind and args.blind.is_file():
        blind = yaml.safe_load(args.blind.read_text(encoding="utf-8"))
        n_in = sum(1 for i in blind if i["id"])
        print(f"\n== jeu aveugle ({args.blind.name}) : {n_in} dans le périmètre, "
              f"{len(blind) - n_in} hors sujet ; jamais utilisé pour régler ==")
        print(
            f"{'système':<28} {'top-1':>7} {'top-3':>7} {'rejet HS':>10} "
            f"{'méd. ms':>9} {'p99 ms':>8}"
        )
        for name, predict in systems.items():
            figures, _ = evaluate(predict, blind)
            print(_row(name, figures))
    if args.errors:
        print("\nErreurs de coopbot (jeu de développement seulement) :")
        print("\n".join(all_errors) or "  aucune")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
