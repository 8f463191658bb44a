"""Fossil settings: everything comes from the environment (see README "Configuration").

Local defaults point at the embedded services that `make run` and `make test` start
(a project-owned Postgres under .run/ and a moto SQS server on 127.0.0.1).
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from fossil.api_tags import TAGS as API_TAGS
from fossil.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_proxy_header,
    env_secret,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(env_str("FOSSIL_RUN_DIR", str(BASE_DIR / ".run")))

DEBUG = env_bool("DEBUG", False)
# Production mode: every secret must be set, not a development value, and 32 bytes or more
# (fossil.env.env_secret); DEBUG changes nothing about that.
REQUIRE_SECRETS = env_bool("FOSSIL_REQUIRE_SECRETS", False)
# 50 characters: what Django's own deploy check (security.W009) asks of SECRET_KEY.
SECRET_KEY = env_secret(
    "SECRET_KEY", required=REQUIRE_SECRETS, development_default="insecure-local-only-" + "x" * 40, min_bytes=50
)
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

# --- HTTPS (docs/operations.md, "Production mode and TLS") ---------------------------------
# TLS ends at a proxy in front of gunicorn; production mode (FOSSIL_REQUIRE_SECRETS) turns every
# protection on by default, each one can be set explicitly, and `manage.py check --deploy` passes.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", REQUIRE_SECRETS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 86400 if REQUIRE_SECRETS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", REQUIRE_SECRETS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", REQUIRE_SECRETS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", REQUIRE_SECRETS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", REQUIRE_SECRETS)
# The header the TLS proxy sets (and overwrites, whatever the client sent) to say the request came
# over https; without it, behind the proxy every request would look like http and be redirected.
SECURE_PROXY_SSL_HEADER = env_proxy_header(
    "SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https" if REQUIRE_SECRETS else ""
)
# Never redirected: probes and scrapes from inside the network, and the two services' signed
# calls to each other (PROVING_SERVICE_URL, OFFCHAIN_CALLBACK_URL may be plain http there).
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^health/ready$", r"^metrics$", r"^api/job", r"^internal/"]

INSTALLED_APPS = [
    # The admin modules load with the URL configuration (fossil/urls.py calls autodiscover), not
    # at start-up: commands such as `manage.py price` start without the web stack.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc files, served offline (fossil/api_docs.py)
    "offchain",
    "proving",
    "handler",
]

MIDDLEWARE = [
    # request id and job/group ids on every log line; request counts for /metrics
    "fossil.observability.RequestContextMiddleware",
    "fossil.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS) come from the app itself in every mode: `collectstatic`
    # fills STATIC_ROOT (make run / make test / the image) and WhiteNoise serves it.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fossil.middleware.DatabaseUnavailableMiddleware",
    "fossil.middleware.UnreadableBodyMiddleware",
]

ROOT_URLCONF = "fossil.urls"
WSGI_APPLICATION = "fossil.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The operator console's pages and overrides (admin index, dashboard, confirmations):
        # searched before the apps, so they take precedence over django.contrib.admin's.
        "DIRS": [BASE_DIR / "fossil" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_default_db_url = f"postgresql://postgres@/fossil?host={RUN_DIR / 'pg' / 'data'}"
DATABASES = {"default": database_from_url(env_str("DATABASE_URL", _default_db_url), name="DATABASE_URL")}
# Persistent connections: a worker thread or web thread keeps its connection for this long
# instead of opening one per task or request (issue 21 counted 13 per request at 0); the
# health check below replaces one that Postgres dropped. Keep WEB_WORKERS * WEB_THREADS plus
# every worker's concurrency under Postgres' max_connections (docs/operations.md).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 300, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a worker survives a Postgres restart
# An unreachable database host fails a connection in seconds, not after the OS's TCP timeout.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Block data: our verified table, or an existing Fossil indexer database (read-only) ---
BLOCK_SOURCE = env_choice("BLOCK_SOURCE", "fossil", ("fossil", "indexer"))
INDEXER_DATABASE_URL = env_str("INDEXER_DATABASE_URL")
if INDEXER_DATABASE_URL:
    DATABASES["indexer"] = database_from_url(INDEXER_DATABASE_URL, name="INDEXER_DATABASE_URL")
    DATABASES["indexer"]["OPTIONS"] = {"options": "-c default_transaction_read_only=on"}
    DATABASES["indexer"]["TEST"] = {"MIRROR": "default"}  # pytest-django must not create/flush it
elif BLOCK_SOURCE == "indexer":
    raise ImproperlyConfigured("BLOCK_SOURCE=indexer needs INDEXER_DATABASE_URL")
DATABASE_ROUTERS = ["handler.chain.sources.IndexerRouter"]

# A refused form (expired CSRF token) answers like every other console error (fossil/error_pages.py).
CSRF_FAILURE_VIEW = "fossil.error_pages.csrf_failure"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
# The console's date formats: every time shown ends in "UTC" (fossil/formats/en/formats.py).
FORMAT_MODULE_PATH = ["fossil.formats"]
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(RUN_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies, no manifest: a process started before `collectstatic` still renders.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies are small JSON documents; anything larger is refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 16 * 1024, minimum=1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["fossil.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "fossil.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fossil",
    "DESCRIPTION": "Pricing data (TWAP, max return, reserve price) with proofs for Pitch Lake vaults.",
    "VERSION": "1.0.0",
    "TAGS": API_TAGS,
    # the enum values are listed already; "* `ok` - ok" lines add nothing for the reader
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # URL order within a section (submit, then follow); fossil.schema.order_paths_by_tag orders the sections
    "SORT_OPERATIONS": False,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "fossil.schema.forbid_unknown_request_fields",
        "fossil.schema.order_paths_by_tag",
        "fossil.api_docs.add_example_request",
    ],
    # Swagger UI and Redoc from the sidecar package's static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Requests per API key, counted in Postgres (offchain/throttling.py) so every web process agrees.
API_RATE_LIMITS = {
    "submit": env_str("API_RATE_LIMIT_SUBMIT", "60/min"),
    "read": env_str("API_RATE_LIMIT_READ", "600/min"),
}
for _scope, _rate in API_RATE_LIMITS.items():
    _count, _, _period = _rate.partition("/")
    if not _count.isdigit() or _period[:1] not in ("s", "m", "h", "d"):
        raise ImproperlyConfigured(f"API_RATE_LIMIT_{_scope.upper()}={_rate!r} is not like 60/min")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "fossil_cache"}}

# --- Services talking to each other -------------------------------------------------
# In the monolith both services live behind the same web server; in production they
# can be split and pointed at each other with these URLs.
# Both default to the local web server's PORT, so `PORT=3456 make run` moves every URL.
PORT = env_int("PORT", 3000, minimum=1, maximum=65535)
# How the offchain side reaches the proving service (offchain/proving_client.py): "inprocess"
# when both apps share this deployment and its database (the group is created, and its
# outcome reaches the request, in the database: no HTTP call back into this server), "http"
# for a proving service deployed on its own (POST /api/job, then its callback or our poll).
PROVING_TRANSPORT = env_choice("PROVING_TRANSPORT", "inprocess", ("inprocess", "http"))
# The two implementations, named by string (offchain sits below proving and imports none of it).
PROVING_CLIENTS = {
    "inprocess": "proving.inprocess.InProcessProvingClient",
    "http": "offchain.proving_client.HttpProvingClient",
}
PROVING_SERVICE_URL = env_url("PROVING_SERVICE_URL", f"http://127.0.0.1:{PORT}")
OFFCHAIN_CALLBACK_URL = env_url("OFFCHAIN_CALLBACK_URL", f"http://127.0.0.1:{PORT}")
SERVICE_SHARED_SECRET = env_secret(
    "SERVICE_SHARED_SECRET", required=REQUIRE_SECRETS, development_default="local-only-service-secret"
)
# During a change of the shared secret: the old one, still accepted (calls are signed with the new one).
SERVICE_SHARED_SECRET_PREVIOUS = (
    env_secret("SERVICE_SHARED_SECRET_PREVIOUS", required=REQUIRE_SECRETS)
    if env_str("SERVICE_SHARED_SECRET_PREVIOUS")
    else ""
)
HTTP_CONNECT_TIMEOUT = env_float("HTTP_CONNECT_TIMEOUT", 3.05, minimum=0.1)
HTTP_READ_TIMEOUT = env_float("HTTP_READ_TIMEOUT", 15.0, minimum=0.1)
HTTP_MAX_RETRIES = env_int("HTTP_MAX_RETRIES", 5, minimum=0, maximum=20)

# --- Proof generation ---------------------------------------------------------------
PROVER_BACKEND = env_choice("PROVER_BACKEND", "attested", ("dev", "attested", "bonsai"))
DEV_PROVER_LATENCY_SECONDS = env_float("DEV_PROVER_LATENCY_SECONDS", 0.0, minimum=0.0)
# The attested provider's signing key: one key shared by every proof machine, from a secret
# (PROVER_PRIVATE_KEY) or a file (PROVER_KEY_FILE); never created implicitly (docs/proofs.md).
PROVER_PRIVATE_KEY = env_str("PROVER_PRIVATE_KEY")
PROVER_KEY_FILE = env_str("PROVER_KEY_FILE")
if not (PROVER_PRIVATE_KEY or PROVER_KEY_FILE):
    if env_bool("FOSSIL_REQUIRE_SECRETS", False) and PROVER_BACKEND == "attested":
        raise ImproperlyConfigured("PROVER_BACKEND=attested needs PROVER_PRIVATE_KEY or PROVER_KEY_FILE in production")
    # local runs: `make run` / `make test` create this file with manage.py create_prover_key
    PROVER_KEY_FILE = str(RUN_DIR / "prover_ed25519.pem")
# How often a running worker checks that its signing key is still the current one (a rotation
# stops the workers of a machine with the old key within this; handler/signing_key_guard.py). 0: never.
KEY_CHECK_SECONDS = env_float("KEY_CHECK_SECONDS", 5.0, minimum=0.0)
PROOF_SOFT_TIME_LIMIT = env_int("PROOF_SOFT_TIME_LIMIT", 300, minimum=1)
PROOF_HARD_TIME_LIMIT = env_int("PROOF_HARD_TIME_LIMIT", PROOF_SOFT_TIME_LIMIT + 30, minimum=2)
if PROOF_HARD_TIME_LIMIT <= PROOF_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("PROOF_HARD_TIME_LIMIT must be above PROOF_SOFT_TIME_LIMIT")
# A running job's lease; its worker renews it every third of this, so a dead worker's job
# can be claimed again this long after it died.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60, minimum=2)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 4, minimum=1, maximum=50)
RETRY_BACKOFF_BASE = env_float("RETRY_BACKOFF_BASE", 2.0, minimum=0.0)
RETRY_BACKOFF_MAX = env_int("RETRY_BACKOFF_MAX", 120, minimum=0, maximum=900)
MC_PATHS = env_int("MC_PATHS", 15000, minimum=100, maximum=200000)
BONSAI_API_URL = env_url("BONSAI_API_URL")
BONSAI_API_KEY = env_str("BONSAI_API_KEY")
if os.environ.get("BONSAI_IMAGE_ID") or os.environ.get("BONSAI_ELF_PATH"):
    raise ImproperlyConfigured(
        "BONSAI_IMAGE_ID / BONSAI_ELF_PATH named the 'fossil' guest contract, which has no program; "
        "Bonsai mode proves with the coprocessor's programs: set COPROCESSOR_PROFILE (docs/proofs.md)"
    )
# Optional: prove these metrics with the Pitch Lake coprocessor's own guests (docs/proofs.md)
BONSAI_TWAP_IMAGE_ID = env_str("BONSAI_TWAP_IMAGE_ID")
BONSAI_TWAP_ELF_PATH = env_str("BONSAI_TWAP_ELF_PATH")
BONSAI_MAX_RETURN_IMAGE_ID = env_str("BONSAI_MAX_RETURN_IMAGE_ID")
BONSAI_MAX_RETURN_ELF_PATH = env_str("BONSAI_MAX_RETURN_ELF_PATH")
# The journals of TWAP and max-return proofs, for every backend: ours ("fossil") or what the
# coprocessor's guests commit ("pitchlake"; with bonsai, the two image ids above are then required).
PROOF_JOURNAL_FORMAT = env_choice("PROOF_JOURNAL_FORMAT", "fossil", ("fossil", "pitchlake"))
_PITCHLAKE_GUEST_IDS = (BONSAI_TWAP_IMAGE_ID, BONSAI_MAX_RETURN_IMAGE_ID)
if PROVER_BACKEND == "bonsai" and PROOF_JOURNAL_FORMAT == "pitchlake" and not all(_PITCHLAKE_GUEST_IDS):
    raise ImproperlyConfigured(
        "PROOF_JOURNAL_FORMAT=pitchlake with bonsai needs BONSAI_TWAP_IMAGE_ID and BONSAI_MAX_RETURN_IMAGE_ID"
    )
if PROOF_JOURNAL_FORMAT == "fossil" and any(_PITCHLAKE_GUEST_IDS):
    raise ImproperlyConfigured("BONSAI_TWAP_IMAGE_ID / BONSAI_MAX_RETURN_IMAGE_ID need PROOF_JOURNAL_FORMAT=pitchlake")
BONSAI_RISC0_VERSION = env_str("BONSAI_RISC0_VERSION", "2.3.2")
BONSAI_SELECTOR = env_str("BONSAI_SELECTOR", "bb001d44")
# The coprocessor's programs: empty = the shape at its latest commit, no image ids (docs/proofs.md)
COPROCESSOR_PROFILE = env_str("COPROCESSOR_PROFILE", "")
BONSAI_POLL_INTERVAL_SECONDS = env_float("BONSAI_POLL_INTERVAL_SECONDS", 5.0, minimum=0.01)
BONSAI_REQUEST_TIMEOUT_SECONDS = env_float("BONSAI_REQUEST_TIMEOUT_SECONDS", 30.0, minimum=0.1)
if PROVER_BACKEND == "bonsai" and not (BONSAI_API_URL and BONSAI_API_KEY and COPROCESSOR_PROFILE):
    raise ImproperlyConfigured("PROVER_BACKEND=bonsai needs BONSAI_API_URL, BONSAI_API_KEY and COPROCESSOR_PROFILE")
# handler.apps checks at start-up that the profile names all eight programs (it owns their names).

# --- Celery on SQS -------------------------------------------------------------------
# The endpoint comes from AWS_ENDPOINT_URL_SQS (botocore reads it), so production and
# local runs share one broker URL. Queue names get a prefix; under pytest each run gets
# its own, decided here at import time because kombu snapshots transport options.
SQS_QUEUE_PREFIX = env_str("SQS_QUEUE_PREFIX") or (
    f"t{uuid.uuid4().hex[:8]}-" if "pytest" in sys.modules else "fossil-"
)
SQS_REGION = env_str("AWS_DEFAULT_REGION", "us-east-1")
SQS_WAIT_TIME_SECONDS = env_int("SQS_WAIT_TIME_SECONDS", 1, minimum=0, maximum=20)
SQS_POLLING_INTERVAL = env_float("SQS_POLLING_INTERVAL", 0.1, minimum=0.0)
SQS_MAX_RECEIVE_COUNT = env_int("SQS_MAX_RECEIVE_COUNT", 5, minimum=1, maximum=1000)
# Short, so that a dead worker machine's messages are back within about a minute; a live
# worker extends the visibility of every message it holds every heartbeat (fossil/visibility.py),
# however long its proof runs or its retry countdown waits.
SQS_VISIBILITY_TIMEOUT = env_int("SQS_VISIBILITY_TIMEOUT", 60, minimum=1, maximum=43200)
SQS_VISIBILITY_HEARTBEAT_SECONDS = env_float(
    "SQS_VISIBILITY_HEARTBEAT_SECONDS", SQS_VISIBILITY_TIMEOUT / 4, minimum=0.25
)
if SQS_VISIBILITY_HEARTBEAT_SECONDS > SQS_VISIBILITY_TIMEOUT / 2:
    raise ImproperlyConfigured(
        f"SQS_VISIBILITY_HEARTBEAT_SECONDS={SQS_VISIBILITY_HEARTBEAT_SECONDS} must be at most half of "
        f"SQS_VISIBILITY_TIMEOUT={SQS_VISIBILITY_TIMEOUT}, so a late beat still comes in time"
    )
# Queues by kind, each with its own consumers (docs/reliability.md, "Queues and workers"):
# the proofs (CPU), the outcomes that finish a group and tell its caller (short, I/O), and
# housekeeping: the reconciler's sweep and, with PROVING_TRANSPORT=http, the forwarding of
# new requests. A completion never waits behind new work.
QUEUE_PROOFS = "proofs"
QUEUE_OUTCOMES = "outcomes"
QUEUE_HOUSEKEEPING = "housekeeping"
WORK_QUEUES = (QUEUE_PROOFS, QUEUE_OUTCOMES, QUEUE_HOUSEKEEPING)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "sqs://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "region": SQS_REGION,
    "visibility_timeout": SQS_VISIBILITY_TIMEOUT,
    "wait_time_seconds": SQS_WAIT_TIME_SECONDS,
    "polling_interval": SQS_POLLING_INTERVAL,
    "queue_name_prefix": SQS_QUEUE_PREFIX,
    # botocore's defaults (60 s timeouts, retries) would let a broker outage hang a web request.
    "client-config": {"connect_timeout": 3, "read_timeout": SQS_WAIT_TIME_SECONDS + 10, "retries": {"max_attempts": 2}},
}
# Publishing gives up quickly when the broker is down; the outbox columns (dispatched_at,
# forwarded_at) and the reconciler re-send what could not be sent.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# A task that fails (or hits its hard time limit) is not acknowledged: SQS redelivers it
# and, after SQS_MAX_RECEIVE_COUNT receipts, moves it to the dead-letter queue.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = QUEUE_HOUSEKEEPING
CELERY_TASK_ROUTES = {
    "handler.prove_job": {"queue": QUEUE_PROOFS},
    "proving.record_job_outcome": {"queue": QUEUE_OUTCOMES},
    "proving.notify_offchain": {"queue": QUEUE_OUTCOMES},
    "offchain.sync_pricing_request": {"queue": QUEUE_OUTCOMES},
    "offchain.forward_pricing_request": {"queue": QUEUE_HOUSEKEEPING},
    "proving.reconcile": {"queue": QUEUE_HOUSEKEEPING},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# Celery's Django fixup closes every database connection before and after every task unless
# this is set, so each task paid for a new Postgres backend (about 50 ms more Postgres CPU per
# request under load, measured with make bench-load). Set far beyond any worker's life, it
# leaves the connections to fossil.worker_connections, which applies CONN_MAX_AGE and the
# health check around each task as Django does around each web request.
CELERY_DB_REUSE_MAX = 10**9
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # SQS has no broadcast support
CELERY_WORKER_SEND_TASK_EVENTS = False
# SIGTERM is a warm shutdown: the running proof finishes. With a soft-shutdown timeout, a cold
# shutdown (SIGQUIT, or SIGTERM under REMAP_SIGTERM=SIGQUIT) first gives the proof this long,
# then returns its message to SQS at once instead of leaving it invisible until the
# visibility timeout. 0 (Celery's default) skips that step; nothing is lost either way.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env_float("WORKER_SOFT_SHUTDOWN_TIMEOUT", 0.0, minimum=0.0)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
# A broker blip must not cancel running proofs; the leases absorb any duplicate it causes.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = False
# Touched by a worker whenever it receives or finishes a task; read by check_worker_liveness.
WORKER_HEARTBEAT_FILE = env_str("WORKER_HEARTBEAT_FILE", str(RUN_DIR / "worker.heartbeat"))
RECONCILE_INTERVAL_SECONDS = env_int("RECONCILE_INTERVAL_SECONDS", 15, minimum=1)
# After how long a published but never claimed job is published again while its queue has a
# backlog (its message is then most likely still waiting there: proving/reconciler.py).
RECONCILE_REDISPATCH_SECONDS = env_int("RECONCILE_REDISPATCH_SECONDS", 3600, minimum=1)
# --- Liveness (docs/reliability.md) ------------------------------------------------------
# A delivery that meets an unreachable Postgres goes back to the queue this long later
# (plus jitter) instead of waiting out the visibility timeout.
DATABASE_OUTAGE_RETRY_SECONDS = env_float("DATABASE_OUTAGE_RETRY_SECONDS", 3.0, minimum=0.1)
# A job published but not started this long ago, while the proofs queue has nothing waiting,
# counts as lost (queue state lost, message held by a dead worker) and is published again.
RECONCILE_LOST_MESSAGE_SECONDS = env_int("RECONCILE_LOST_MESSAGE_SECONDS", 30, minimum=1)
# Workers and beat look this often for lost queues (and create them again); a worker also
# looks at its own consumer and exits with code 3 once it has received nothing for
# WORKER_STALL_SECONDS while work waits and its pool is idle. 0 turns the watchdog off.
WATCHDOG_INTERVAL_SECONDS = env_float("WATCHDOG_INTERVAL_SECONDS", 5.0, minimum=0.0)
WORKER_STALL_SECONDS = env_float("WORKER_STALL_SECONDS", 20.0, minimum=1.0)
CELERY_BEAT_SCHEDULE = {
    "reconcile-jobs": {"task": "proving.reconcile", "schedule": float(RECONCILE_INTERVAL_SECONDS)},
}

# --- Logs and metrics -------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line with request_id, job_id and group_id (see
# fossil/log_context.py); plain lines carry the same fields in brackets.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "fossil.log_context.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
        "json": {"()": "fossil.log_context.FossilJsonFormatter"},
    },
    "filters": {
        "context": {"()": "fossil.log_context.ContextFilter"},
        "expected_denials": {"()": "fossil.log_context.ExpectedDenialFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "expected_denials"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Third-party chatter: botocore's credentials line on every client, urllib3's retries.
    "loggers": {name: {"level": "WARNING"} for name in ("botocore", "boto3", "urllib3")},
}
# /metrics (Prometheus): open on the local stack; with METRICS_TOKEN set it needs
# `Authorization: Bearer <token>`, and production (FOSSIL_REQUIRE_SECRETS) must set one.
METRICS_TOKEN = env_secret("METRICS_TOKEN", required=REQUIRE_SECRETS)
# Gauges read at scrape time, by source name (the `source` label of fossil_scrape_source_up):
# functions named by string, like the URL configuration names the apps' urls (fossil imports no app).
# Readiness checks beyond Postgres and SQS (fossil/health.py), named like the scrape sources:
# a machine whose prover key is not the current one is not ready (handler/prover_keys.py).
READINESS_CHECKS = {"prover_key": "handler.prover_keys.readiness_check"}
METRICS_SCRAPE_SOURCES = {
    "sqs": "proving.scrape_metrics.queue_gauges",
    "postgres": "proving.scrape_metrics.job_gauges",
}

# --- Request limits ----------------------------------------------------------------------
MAX_RANGE_SECONDS = env_int("MAX_RANGE_SECONDS", 400 * 86400, minimum=60)
MAX_IDENTIFIERS = env_int("MAX_IDENTIFIERS", 16, minimum=1, maximum=1000)
# How far past the latest ingested block a submitted range may end (the ingester's lag);
# ranges ending later, starting before the first block or ending in the future get a 400
# at submit (handler/availability.py).
BLOCK_DATA_MARGIN_SECONDS = env_int("BLOCK_DATA_MARGIN_SECONDS", 600, minimum=0)
# The reconciler re-forwards a request not handed to the proving service after this long,
# and polls the proving service for a forwarded request without news after this long.
FORWARD_GRACE_SECONDS = env_int("FORWARD_GRACE_SECONDS", 120, minimum=1)
STATUS_POLL_AFTER_SECONDS = env_int("STATUS_POLL_AFTER_SECONDS", 60, minimum=1)
# Each later look at the same request waits twice as long as the one before, up to this.
RECONCILE_POLL_BACKOFF_MAX = env_int("RECONCILE_POLL_BACKOFF_MAX", 900, minimum=1)
# At most this many requests (and this many jobs, outcomes and groups) per sweep.
RECONCILE_BATCH = env_int("RECONCILE_BATCH", 200, minimum=1, maximum=10000)
