"""gunicorn settings for the web process: `gunicorn -c gunicorn.conf.py` (make run uses it too).

Threads, not sync workers: a request that waits (on Postgres, on SQS, on a slow client)
holds one thread, not a whole process, and every read of a request is bounded by
WEB_READ_TIMEOUT (fossil/web_worker.py), so slow or short-bodied clients are cut off
instead of starving the others (see docs/reliability.md).
"""

from fossil.env import env_int, env_str

wsgi_app = "fossil.wsgi:application"
bind = [env_str("WEB_BIND", f"127.0.0.1:{env_int('PORT', 3000, minimum=1, maximum=65535)}")]
worker_class = "fossil.web_worker.ReadTimeoutThreadWorker"
workers = env_int("WEB_WORKERS", 2, minimum=1, maximum=64)
# 16: at 16 concurrent submitters (make bench-load) 8 threads were all waiting on SQS publishes
# and /health took up to 2.7 s; with 16 at most 0.8 s (docs/reliability.md).
threads = env_int("WEB_THREADS", 16, minimum=1, maximum=256)
# A worker whose main loop stops for this long is killed and replaced (requests run in threads).
timeout = env_int("WEB_TIMEOUT", 30, minimum=1)
graceful_timeout = env_int("WEB_GRACEFUL_TIMEOUT", 30, minimum=1)
# Idle keep-alive connections wait in the worker's poller (no thread) and are closed after this.
keepalive = env_int("WEB_KEEPALIVE", 5, minimum=0)
# Headers are small here; refuse absurd ones early.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190
accesslog = env_str("WEB_ACCESS_LOG", "-") or None
