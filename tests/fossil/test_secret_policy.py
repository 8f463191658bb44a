"""The secret policy, from outside: `manage.py check` under bad environments."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

GOOD_KEY = "k" * 20 + "9Xq2-Lm7Vb4RtY8wZ"  # 37 bytes, no known value
GOOD_SERVICE = "s" * 20 + "Hn3Jp6Wc1Ke5Fd0Gu"
GOOD_METRICS = "m" * 20 + "Tz8Rb2Yq5Nw1Xc7Ls"


def manage_check(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "SERVICE_SHARED_SECRET", "METRICS_TOKEN", "DEBUG")
    }
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "variable", "secret"),
    [
        ({"SERVICE_SHARED_SECRET": GOOD_SERVICE}, "SECRET_KEY", None),
        ({"SERVICE_SHARED_SECRET": GOOD_SERVICE, "DEBUG": "true"}, "SECRET_KEY", None),
        (
            {"SECRET_KEY": "insecure-local-only-" + "x" * 40, "SERVICE_SHARED_SECRET": GOOD_SERVICE},
            "SECRET_KEY",
            "insecure-local-only-",
        ),
        (
            {"SECRET_KEY": GOOD_KEY, "SERVICE_SHARED_SECRET": "local-only-service-secret"},
            "SERVICE_SHARED_SECRET",
            "local-only-service-secret",
        ),
        ({"SECRET_KEY": GOOD_KEY, "SERVICE_SHARED_SECRET": "Q"}, "SERVICE_SHARED_SECRET", None),
        (
            {"SECRET_KEY": "short-but-secret-31-bytes-long!", "SERVICE_SHARED_SECRET": GOOD_SERVICE},
            "SECRET_KEY",
            "short-but-secret",
        ),
        ({"SECRET_KEY": GOOD_KEY}, "SERVICE_SHARED_SECRET", None),
        (
            {"SECRET_KEY": GOOD_KEY, "SERVICE_SHARED_SECRET": GOOD_SERVICE, "SERVICE_SHARED_SECRET_PREVIOUS": "old1"},
            "SERVICE_SHARED_SECRET_PREVIOUS",
            "old1",
        ),
        (
            {"SECRET_KEY": GOOD_KEY, "SERVICE_SHARED_SECRET": GOOD_SERVICE, "METRICS_TOKEN": "tok3n"},
            "METRICS_TOKEN",
            "tok3n",
        ),
    ],
)
def test_production_mode_refuses_missing_default_and_short_secrets(env, variable, secret):
    result = manage_check(FOSSIL_REQUIRE_SECRETS="true", **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    if secret:
        assert secret not in result.stderr + result.stdout


def test_production_mode_accepts_good_secrets():
    result = manage_check(
        FOSSIL_REQUIRE_SECRETS="true",
        SECRET_KEY=GOOD_KEY,
        SERVICE_SHARED_SECRET=GOOD_SERVICE,
        METRICS_TOKEN=GOOD_METRICS,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "mysql://fossil:hunter2-pw@db/fossil",
        "postgresql://fossil:hunter2-pw@db:port/fossil",
        "postgresql://fossil:hunter2-pw@db:5432/",
    ],
)
def test_a_malformed_database_url_is_named_without_its_password(url):
    result = manage_check(DATABASE_URL=url)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_an_url_setting_with_credentials_is_not_printed():
    result = manage_check(PROVING_SERVICE_URL="ftp://svc:hunter2-pw@host/")
    assert result.returncode != 0 and "PROVING_SERVICE_URL" in result.stderr
    assert "hunter2" not in result.stderr
