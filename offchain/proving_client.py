"""How the offchain side reaches the proving service: one interface, two implementations.

settings.PROVING_TRANSPORT picks one from settings.PROVING_CLIENTS (named by string, as the
URL configuration names the apps' urls: offchain sits below proving and imports none of it).

- "inprocess" (`proving.inprocess`): both apps in one deployment and one database. The
  request's job group is created in the transaction that stores the request, and the group's
  outcome reaches the request in the transaction that finishes the group: no message and no
  HTTP call back into the same server.
- "http" (`HttpProvingClient`): the seed's contract with a proving service deployed on its
  own: `POST /api/job` from the forward task, then its callback or our poll of
  `GET /api/job/<id>`.

Both raise fossil.http.ServiceCallRejected when the proving service refuses a job (the
request fails) and fossil.http.ServiceCallFailed when it cannot be reached (worth retrying).
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from fossil.http import ServiceCallRejected, get_signed_json, post_signed_json


class ProvingClient(Protocol):
    # True: submit() and group() touch only the database, so they run inside the caller's
    # transaction and the group's outcome arrives without being asked for. False: they are
    # network calls, made from tasks with no transaction open.
    in_process: bool

    def submit(self, body: dict) -> None:
        """Hands a job group over (the body of POST /api/job)."""

    def group(self, job_group_id: str) -> dict | None:
        """The group as GET /api/job/<id> shows it; None if the proving service has no such group."""


class HttpProvingClient:
    in_process = False

    def submit(self, body: dict) -> None:
        post_signed_json(f"{settings.PROVING_SERVICE_URL}/api/job", body)

    def group(self, job_group_id: str) -> dict | None:
        try:
            return get_signed_json(f"{settings.PROVING_SERVICE_URL}/api/job/{job_group_id}")
        except ServiceCallRejected as exc:
            if exc.status == 404:
                return None
            raise


def proving_client() -> ProvingClient:
    return import_string(settings.PROVING_CLIENTS[settings.PROVING_TRANSPORT])()
