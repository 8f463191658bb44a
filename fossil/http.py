"""Signed JSON calls between the services, with bounded timeouts."""

from __future__ import annotations

import json

import requests
from django.conf import settings

from fossil import log_context
from fossil.signing import signed_headers


def request_id_header() -> dict:
    """The current request id travels along, so one id follows a request across services."""
    request_id = log_context.get("request_id")
    return {log_context.REQUEST_ID_HEADER: request_id} if request_id else {}


class ServiceCallFailed(Exception):
    """The other service could not be reached or answered 5xx/429: worth retrying."""


class ServiceCallRejected(Exception):
    """The other service refused the call (4xx): retrying will not help."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def post_signed_json(url: str, payload: dict) -> dict:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", **signed_headers("POST", url, body), **request_id_header()}
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=(settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT)
        )
    except requests.RequestException as exc:
        raise ServiceCallFailed(f"{url}: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ServiceCallFailed(f"{url}: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = {"message": response.text[:200]}
    if response.status_code >= 400:
        raise ServiceCallRejected(response.status_code, str(answer.get("message", answer)))
    return answer


def get_signed_json(url: str) -> dict:
    headers = {**signed_headers("GET", url), **request_id_header()}
    try:
        response = requests.get(
            url, headers=headers, timeout=(settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT)
        )
    except requests.RequestException as exc:
        raise ServiceCallFailed(f"{url}: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ServiceCallFailed(f"{url}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ServiceCallRejected(response.status_code, response.text[:200])
    return response.json()
