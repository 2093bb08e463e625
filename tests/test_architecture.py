"""The layers of docs/architecture.md hold: `lint-imports` keeps every contract."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_imports_only_point_down_and_no_file_imports_another_in_a_loop():
    command = shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed: pip install -e '.[dev]'")
    done = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " 0 broken" in done.stdout, done.stdout[-3000:]
