"""`make shell` (bin/fossil --shell): python, manage.py and bin/fossil come from the project's
virtualenv even when the user's ~/.bashrc puts another python first (pyenv shims, conda)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

VENV = Path(sys.prefix)


def test_the_shell_uses_the_projects_python_after_the_users_bashrc(tmp_path):
    home, run_dir, decoy = tmp_path / "home", tmp_path / "run", tmp_path / "decoy"
    for path in (home, run_dir, decoy):
        path.mkdir()
    (decoy / "python").write_text("#!/bin/sh\necho decoy python\n")
    (decoy / "python").chmod(0o755)
    (home / ".bashrc").write_text(f'export PATH="{decoy}:$PATH"\n')  # what pyenv's init does
    (run_dir / "env").write_text(f"VIRTUAL_ENV={VENV}\nPORT=3999\n")
    commands = "command -v python manage.py fossil\npython -c 'import django, sys; print(sys.prefix)'\necho $PORT\n"
    result = subprocess.run(
        [str(REPO / "bin" / "fossil"), "--shell"],
        input=commands + "exit\n",
        env={
            "HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "FOSSIL_RUN_DIR": str(run_dir),
            "TERM": "dumb",
            "TMPDIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = result.stdout.split()
    assert f"{VENV}/bin/python" in out, result.stdout + result.stderr
    assert str(REPO / "manage.py") in out and str(REPO / "bin" / "fossil") in out
    assert str(VENV) in out and "decoy" not in result.stdout  # django imported from the venv
    assert "3999" in out  # the running stack's environment
    assert not [name for name in os.listdir(tmp_path) if name.startswith("fossil-shell.")]  # removed again


def test_the_shell_without_a_running_stack_says_so(tmp_path):
    result = subprocess.run(
        [str(REPO / "bin" / "fossil"), "--shell"],
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "FOSSIL_RUN_DIR": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "make run" in result.stderr


def test_make_run_prints_a_line_per_step_with_its_time(tmp_path, capsys, monkeypatch):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import devstack
    finally:
        sys.path.pop(0)
    monkeypatch.setenv("FOSSIL_RUN_DIR", str(tmp_path))
    stack = devstack.Stack("steps")
    stack.manage("check", "--fail-level", "ERROR", capture=True)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"devstack: manage\.py check \(\d+\.\ds; \d+\.\ds since start\)", line), line
