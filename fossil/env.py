"""Typed readers for settings that come from the environment.

Every reader fails with ImproperlyConfigured on a malformed value, so a typo in a
deployment stops the process at start-up instead of running with a silent default.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc.strerror}") from None
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        value = default
    else:
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        value = default
    else:
        try:
            value = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def env_url(name: str, default: str = "") -> str:
    value = env_str(name, default)
    # A URL may carry credentials (https://user:pass@host): the error does not print it.
    if value and urlparse(value).scheme not in ("http", "https"):
        raise ImproperlyConfigured(f"{name} is not an http(s) URL")
    return value.rstrip("/")


def database_from_url(url: str, *, name: str = "DATABASE_URL") -> dict:
    """Django DATABASES entry from postgres://user:pass@host:port/name?host=/socket/dir.

    The URL holds a password, so an error names the variable and what is wrong, never the URL.
    """
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not a valid URL (check its host and port)") from None
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"{name} must start with postgres:// or postgresql://")
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    database = unquote(parsed.path.lstrip("/"))
    if not database:
        raise ImproperlyConfigured(f"{name} names no database (the path after the host is empty)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": unquote(query.get("host", parsed.hostname or "")),
        "PORT": str(port or query.get("port", "")),
    }


# Values that must never protect a production deployment: this repository's local-only
# defaults and the usual placeholders.
DEVELOPMENT_SECRETS = frozenset(
    {"insecure-local-only-" + "x" * 40, "local-only-service-secret", "changeme", "change-me", "secret", "password"}
)
DEVELOPMENT_SECRET_PREFIXES = ("insecure-local-only-", "local-only-", "django-insecure-")
MIN_SECRET_BYTES = 32


def env_secret(name: str, *, required: bool, development_default: str = "") -> str:
    """A secret from the environment (or NAME_FILE).

    With required=True (FOSSIL_REQUIRE_SECRETS) it must be set, not a known development
    value and at least MIN_SECRET_BYTES long; otherwise a missing one falls back to the
    development default. Errors name the variable, never the value.
    """
    value = env_str(name)
    if not required:
        return value or development_default
    if not value:
        raise ImproperlyConfigured(f"{name} must be set (FOSSIL_REQUIRE_SECRETS=true)")
    if value in DEVELOPMENT_SECRETS or value.lower().startswith(DEVELOPMENT_SECRET_PREFIXES):
        raise ImproperlyConfigured(f"{name} is a known development value; set a random secret")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ImproperlyConfigured(f"{name} is shorter than {MIN_SECRET_BYTES} bytes")
    return value
