"""axe-core on Coopbot's HTML documents, in the system headless Chromium.

``tests/a11y`` pins axe-core and playwright-core (``npm ci`` there; ``.ci/run`` does it).
:func:`axe_check` writes the pages to files, runs ``tests/a11y/axe.mjs`` once for all of
them (one browser start) and returns one :class:`AxeReport` per page. Without Chromium,
Node or the npm packages the tests skip with the reason; under ``CI=true`` they fail,
because CI must prove the documents accessible.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

A11Y_DIR = Path(__file__).resolve().parent / "a11y"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


@dataclass(frozen=True, slots=True)
class AxeReport:
    """What axe found on one page: rules run (WCAG 2.1 A and AA) and their violations,
    and apart, axe's best practices (one ``main`` landmark, heading order…)."""

    name: str
    axe_version: str
    rules: int
    passes: int
    violations: tuple[dict[str, Any], ...]
    incomplete: tuple[dict[str, Any], ...]
    best_practice_rules: int
    best_practice_violations: tuple[dict[str, Any], ...]

    def explain(self, best_practice: bool = False) -> str:
        """Each violation with the elements concerned, to read in a failing test."""
        found = self.best_practice_violations if best_practice else self.violations
        lines = [f"{self.name}: {len(found)} violation(s)"]
        for v in found:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {n['target']} {n['html'][:160]}\n      {n['summary']}"
                         for n in v["nodes"][:5])
        return "\n".join(lines)


def _missing() -> str | None:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        return "Chromium absent: apt-get install -y chromium to run axe-core"
    if shutil.which("node") is None:
        return "Node.js absent: apt-get install -y nodejs npm to run axe-core"
    for package in ("axe-core", "playwright-core"):
        if not (A11Y_DIR / "node_modules" / package / "package.json").exists():
            return f"{package} absent: run `npm ci` in tests/a11y"
    return None


def needs_axe() -> None:
    """Skip (fail under CI=true) when the browser, Node or the npm packages are missing."""
    problem = _missing()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(problem + " (CI must check the documents' accessibility)", pytrace=False)
    pytest.skip(problem)


def axe_check(pages: dict[str, str], tmp_path: Path, width: int = 1000) -> dict[str, AxeReport]:
    """Run axe-core with the WCAG 2.1 A and AA rules on each named HTML page, in a window
    ``width`` CSS pixels wide (320: a phone, where a wide table scrolls)."""
    needs_axe()
    files = {}
    for i, (name, html) in enumerate(pages.items()):
        path = tmp_path / f"page-{width}-{i}.html"
        path.write_text(html, encoding="utf-8")
        files[str(path)] = name
    done = subprocess.run(
        ["node", str(A11Y_DIR / "axe.mjs"), *files], capture_output=True, text=True,
        timeout=300, check=False,
        env={**os.environ, "CHROMIUM": str(CHROMIUM), "AXE_WIDTH": str(width)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert tuple(result["tags"]) == TAGS
    return {
        files[p["file"]]: AxeReport(
            files[p["file"]], result["axe"], p["rules"], p["passes"], tuple(p["violations"]),
            tuple(p["incomplete"]), p["best_practice_rules"],
            tuple(p["best_practice_violations"]))
        for p in result["pages"]
    }
