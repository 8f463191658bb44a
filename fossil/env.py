"""Typed readers for settings that come from the environment.

Every reader fails with ImproperlyConfigured on a malformed value, so a typo in a
deployment stops the process at start-up instead of running with a silent default.
"""

from __future__ import annotations

import math
import os
import re
import zlib
from collections import Counter
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
# Words that mark a value someone typed instead of generating it.
PLACEHOLDER_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "replaceme",
    "replace-me",
    "placeholder",
    "example",
    "insecure",
    "password",
    "passw0rd",
    "secret",
    "qwerty",
    "asdfgh",
    "letmein",
    "dummy",
)
MIN_SECRET_BYTES = 32
# An estimate (Shannon entropy of the value's own characters times its length): a generated
# token_urlsafe(32) has about 190 bits, 64 random hex digits about 250.
MIN_SECRET_BITS = 128
MAX_SAME_CHARACTER_SHARE = 0.25
LONGEST_RUN = 5  # the same character, or consecutive ones (abcdef, 654321), this many times in a row


def _longest_run(value: str, step: int) -> int:
    longest = run = 1
    for previous, current in zip(value, value[1:], strict=False):
        run = run + 1 if ord(current) - ord(previous) == step else 1
        longest = max(longest, run)
    return longest


def guessable_secret_reason(value: str, *, min_bytes: int = MIN_SECRET_BYTES) -> str | None:
    """Why a production secret is guessable (a rule, never the value), or None."""
    lowered = value.lower()
    if value in DEVELOPMENT_SECRETS or lowered.startswith(DEVELOPMENT_SECRET_PREFIXES):
        return "is a known development value"
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "looks like a placeholder (it contains a common word such as changeme or secret)"
    if len(value.encode()) < min_bytes:
        return f"is shorter than {min_bytes} bytes"
    counts = Counter(value)
    if max(counts.values()) > MAX_SAME_CHARACTER_SHARE * len(value) or _longest_run(value, 0) > LONGEST_RUN:
        return "repeats a character too often"
    if _longest_run(value, 1) > LONGEST_RUN or _longest_run(value, -1) > LONGEST_RUN:
        return "contains a run of sequential characters"
    # a short pattern repeated (ab12ab12…, word-word): generated values do not compress
    if re.fullmatch(r"(.+?)\1+", value, re.DOTALL) or len(zlib.compress(value.encode(), 9)) - 8 < len(value) / 2:
        return "repeats a pattern"
    bits = -sum(n * math.log2(n / len(value)) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return f"has too little entropy (about {bits:.0f} bits, at least {MIN_SECRET_BITS} needed)"
    return None


def env_secret(name: str, *, required: bool, development_default: str = "", min_bytes: int = MIN_SECRET_BYTES) -> str:
    """A secret from the environment (or NAME_FILE).

    With required=True (FOSSIL_REQUIRE_SECRETS) it must be set and not guessable: not a known
    development value or placeholder, at least ``min_bytes`` long, no character repeated or run
    of sequential characters, enough entropy (guessable_secret_reason); otherwise a missing one
    falls back to the development default. Errors name the variable and the rule, never the value.
    """
    value = env_str(name)
    if not required:
        return value or development_default
    if not value:
        raise ImproperlyConfigured(f"{name} must be set (FOSSIL_REQUIRE_SECRETS=true)")
    reason = guessable_secret_reason(value, min_bytes=min_bytes)
    if reason:
        raise ImproperlyConfigured(f'{name} {reason}; generate one (docs/operations.md, "Production mode")')
    return value


def env_proxy_header(name: str, default: str) -> tuple[str, str] | None:
    """``Header-Name: value`` (e.g. ``X-Forwarded-Proto: https``) as Django's
    SECURE_PROXY_SSL_HEADER pair, or None for an empty value."""
    raw = os.environ.get(name, default).strip()
    if not raw:
        return None
    header, separator, value = raw.partition(":")
    if not separator or not header.strip() or not value.strip() or " " in header.strip():
        raise ImproperlyConfigured(f"{name}={raw!r} is not like 'X-Forwarded-Proto: https' (or empty)")
    return "HTTP_" + header.strip().upper().replace("-", "_"), value.strip()
