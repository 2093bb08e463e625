"""Start-up time of ``coopbot ask`` and ``coopbot chat`` to their first output.

Usage: python benchmarks/startup.py [--runs 7] [--coopbot PATH]

``ask``: wall time of ``coopbot ask "qui contacter pour un DLA"`` until the process
exits (the answer printed). ``chat``: wall time from launching ``coopbot chat`` until
its first byte on stdout (the greeting), after which its input is closed. Both use
a fresh working directory and database; the first run (which creates and migrates
the database) is reported apart, the figures are the median of the other runs.

``coopbot`` is taken from PATH (what a person types, e.g. a pyenv shim) and, when
different, also from the Python environment's own ``bin`` (the console script
itself); the RESULT line uses the latter, without the shim's own start-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "qui contacter pour un DLA"


def time_ask(coopbot: str, workdir: Path) -> float:
    began = time.perf_counter()
    done = subprocess.run([coopbot, "ask", QUESTION], cwd=workdir, capture_output=True,
                          text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"coopbot ask failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def time_chat(coopbot: str, workdir: Path) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen([coopbot, "chat", "--user", "mesure"], cwd=workdir,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stdin is not None
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - began
    proc.stdin.close()
    proc.stdout.read()
    proc.wait(timeout=30)
    if not first:
        raise RuntimeError("coopbot chat printed nothing")
    return elapsed


def measure(coopbot: str, runs: int) -> dict[str, tuple[float, float]]:
    """{"ask"|"chat": (first run, median of the next runs)} in seconds."""
    figures = {}
    for name, probe in (("ask", time_ask), ("chat", time_chat)):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            first = probe(coopbot, workdir)
            times = [probe(coopbot, workdir) for _ in range(runs)]
        figures[name] = (first, statistics.median(times))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--coopbot", default=None, help="path of the coopbot command")
    args = parser.parse_args()
    direct = Path(sys.executable).parent / "coopbot"
    on_path = shutil.which("coopbot")
    candidates: list[str] = []
    if args.coopbot:
        candidates.append(args.coopbot)
    else:
        if on_path:
            candidates.append(on_path)
        if direct.exists() and (not on_path or Path(on_path).resolve() != direct.resolve()):
            candidates.append(str(direct))
    if not candidates:
        sys.exit("coopbot not found: run pip install -e . first")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"median of {args.runs} runs after a first one")
    result: dict[str, tuple[float, float]] = {}
    for coopbot in candidates:
        result = measure(coopbot, args.runs)
        for name, (first, median) in result.items():
            print(f"coopbot {name:<4} ({coopbot}): first {first:.3f} s, median {median:.3f} s")
    print(f"target: ask ≤ 0.5 s → {'met' if result['ask'][1] <= 0.5 else 'NOT met'}")
    print(f"RESULT ask_s={result['ask'][1]:.3f} chat_s={result['chat'][1]:.3f} "
          f"ask_first_s={result['ask'][0]:.3f} chat_first_s={result['chat'][0]:.3f}")


if __name__ == "__main__":
    main()
