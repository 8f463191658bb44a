"""The secret policy, from outside: `manage.py check` under bad environments."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

# secrets.token_urlsafe(48), drawn once
GOOD_KEY = "7TAjJ0Ffo_Ev1bShQ0cADEy3pknOwtTbZUBwTWU6iOZZqYJYSbHIerHzIkQuYwaa"
GOOD_SERVICE = "zGlpnagcxgCmX1w5Cpuun95c9kz1URq7iJDXnQUliGgwuc8P2RlEUmaT6wjnpqkU"
GOOD_METRICS = "KMdNpGHxIT6SrjIXJwLk_pDwLH5znUPsWJSJyYqjhB8DUVhTB9-tn779S9L0cfsv"


def manage_check(*flags: str, **overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "SERVICE_SHARED_SECRET", "METRICS_TOKEN", "DEBUG")
        and not k.startswith(("SECURE_", "SESSION_COOKIE", "CSRF_COOKIE"))
    }
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *flags], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
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


PRODUCTION = {
    "FOSSIL_REQUIRE_SECRETS": "true",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "fossil.example.org",
    "SECRET_KEY": GOOD_KEY,
    "SERVICE_SHARED_SECRET": GOOD_SERVICE,
    "METRICS_TOKEN": GOOD_METRICS,
}


def test_check_deploy_with_the_documented_production_environment_gives_no_warnings():
    result = manage_check("--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout
    # and what the development defaults give: Django's HTTPS warnings (they are off there)
    development = manage_check("--deploy", DEBUG="false")
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in development.stderr + development.stdout


def test_production_settings_turn_https_on_and_each_can_be_set():
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
    )

    def settings_of(**env):
        result = manage_shell(code, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]  # after the shell's "objects imported" notice

    assert settings_of(**PRODUCTION) == "True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert settings_of() == "False 0 False False None"
    assert settings_of(**PRODUCTION, SECURE_SSL_REDIRECT="false", SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on") == (
        "False 31536000 True True ('HTTP_X_FORWARDED_SSL', 'on')"
    )
    bad = manage_check(**PRODUCTION, SECURE_PROXY_SSL_HEADER="https")
    assert bad.returncode != 0 and "SECURE_PROXY_SSL_HEADER" in bad.stderr


def manage_shell(code: str, **overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "FOSSIL_REQUIRE"))}
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("a" * 64, "repeats a character"),
        ("changeme-" + GOOD_KEY[:40] + "-1234", "placeholder"),
        ("my-super-secret-production-key-" + GOOD_KEY[:30], "placeholder"),
        ("abcdefghijklmnopqrstuvwxyz" + GOOD_KEY[:30], "sequential"),
        (GOOD_KEY[:20] + "9876543210" + GOOD_KEY[20:50], "sequential"),
        ("ab12" * 16, "pattern"),
        ("Xk9!" * 8 + "Qz7#" * 8, "pattern"),
        ("0101011001010110" * 4, "repeats"),
        ("mmK7Zmm7m7ZqZq7qKZ7ZZq7KK7mZK7m7ZqZmmZ7KZKKmKZm7q7Kq", "entropy"),  # five characters, shuffled
    ],
)
@pytest.mark.parametrize("variable", ["SECRET_KEY", "SERVICE_SHARED_SECRET", "METRICS_TOKEN"])
def test_guessable_secrets_are_refused_naming_the_variable_never_the_value(variable, value, rule):
    result = manage_check(**{**PRODUCTION, variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and rule in lines[0], result.stderr
    assert value not in result.stderr + result.stdout and value[:12] not in result.stderr + result.stdout


def test_generated_secrets_always_pass():
    import secrets

    from fossil.env import guessable_secret_reason

    assert not [v for v in (secrets.token_urlsafe(48) for _ in range(2000)) if guessable_secret_reason(v, min_bytes=50)]
