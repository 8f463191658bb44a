"""The import rules of docs/architecture.md, checked on the real import graph.

import-linter reads the contracts in pyproject.toml (also run by `make lint`): handler
imports neither proving nor offchain, and the apps are layered, so there is no cycle
between them (imports inside functions count too).
"""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_apps_keep_the_import_rules(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
