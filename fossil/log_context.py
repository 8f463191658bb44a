"""Who a log line is about: request id, job id and group id on every line, in the web
process (set by RequestContextMiddleware) and in the workers (set around each task, with
the request id of the web request that queued it carried in the message headers).

LOG_FORMAT=json writes one JSON object per line (python-json-logger); the plain format
appends the same fields in brackets when they are set.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("request_id", "job_id", "group_id")
_context: dict[str, contextvars.ContextVar] = {
    name: contextvars.ContextVar(f"fossil_{name}", default=None) for name in CONTEXT_FIELDS
}
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
TASK_HEADER = "fossil_request_id"


def get(name: str):
    return _context[name].get()


def bind(**values) -> list[tuple[contextvars.ContextVar, contextvars.Token]]:
    """Sets context fields; returns tokens for unbind (None values clear a field)."""
    return [(_context[name], _context[name].set(value)) for name, value in values.items()]


def unbind(tokens) -> None:
    for var, token in reversed(tokens):
        var.reset(token)


def clear() -> None:
    for var in _context.values():
        var.set(None)


class ContextFilter(logging.Filter):
    """Adds the context fields to every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, _context[name].get())
        received = getattr(record, "data", None)  # Celery's "Task … received" line, logged before any task context
        if isinstance(received, dict) and received.get("name") in TASK_CONTEXT_ARGUMENT:
            field = TASK_CONTEXT_ARGUMENT[received["name"]]
            match = _FIRST_ARGUMENT.match(str(received.get("args") or ""))
            if match and getattr(record, field, None) is None:
                value = match.group(1)
                setattr(record, field, int(value) if field == "job_id" and value.isdigit() else value)
        return True


class ExpectedDenialFilter(logging.Filter):
    """Django logs a 4xx answer (PermissionDenied, a refused host, ...) with the exception's
    traceback; for an expected denial the one line (status, path, context) is the whole story.
    Server errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(("django.request", "django.security")) and getattr(record, "status_code", 500) < 500:
            record.exc_info, record.exc_text = None, None
        return True


_FIRST_ARGUMENT = re.compile(r"^[\[(]\s*'?([0-9A-Za-z_x-]{1,66})'?")


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name, None))
        return f"{line} [{fields}]" if fields else line


class FossilJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, the context fields, and any
    `extra=` fields of the call (outcome, metric, duration_seconds, …)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        for name in CONTEXT_FIELDS:
            log_record.setdefault(name, getattr(record, name, None))


def request_id_from(headers) -> str:
    given = headers.get(REQUEST_ID_HEADER, "")
    return given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex


# --- Celery: carry the request id in the message, bind the ids around each task --------
# Which argument of a task names what (ids only travel on the queues).
TASK_CONTEXT_ARGUMENT = {
    "handler.prove_job": "job_id",
    "proving.record_job_outcome": "job_id",
    "proving.notify_offchain": "group_id",
    "offchain.forward_pricing_request": "group_id",
    "offchain.sync_pricing_request": "group_id",
}


def connect_celery_signals() -> None:
    """Called by celery_app, so Celery loads only in processes that publish or run tasks
    (not `manage.py price`)."""
    from celery.signals import before_task_publish, task_postrun, task_prerun

    @before_task_publish.connect(weak=False)
    def add_request_id(headers=None, **_kwargs):
        request_id = get("request_id")
        if headers is not None and request_id:
            headers[TASK_HEADER] = request_id

    @task_prerun.connect(weak=False)
    def bind_task_context(task=None, task_id=None, args=None, **_kwargs):
        request_id = getattr(task.request, TASK_HEADER, None) if task else None
        if request_id is None and task is not None:
            request_id = (getattr(task.request, "headers", None) or {}).get(TASK_HEADER)
        values = {"request_id": request_id or f"task-{task_id}", "job_id": None, "group_id": None}
        field = TASK_CONTEXT_ARGUMENT.get(getattr(task, "name", ""))
        if field and args:
            values[field] = args[0]
        bind(**values)

    @task_postrun.connect(weak=False)
    def clear_task_context(**_kwargs):
        clear()
