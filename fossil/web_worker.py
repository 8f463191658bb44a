"""The web server's worker class: gunicorn's threaded worker with a read timeout per connection.

gunicorn's gthread worker reads a request's headers and body on a blocking socket with no
timeout, so a client that sends partial headers, or a Content-Length larger than its body,
holds a thread until it goes away. Here every read (and write) of a request gives up after
WEB_READ_TIMEOUT seconds of silence: a stalled header read closes the connection, a
stalled body read surfaces in Django as UnreadablePostError, answered with 400
(fossil.middleware.UnreadableBodyMiddleware). Idle keep-alive connections wait in the
worker's poller, not in a thread, as gunicorn already does.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker

from fossil.env import env_float

READ_TIMEOUT_SECONDS = env_float("WEB_READ_TIMEOUT", 5.0, minimum=0.1)


class ReadTimeoutThreadWorker(ThreadWorker):
    def handle(self, conn):
        conn.sock.settimeout(READ_TIMEOUT_SECONDS)
        return super().handle(conn)
