"""S12 (concurrent duplicate submissions) and S13 (callback target down)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from proving.models import JobGroup
from tests.chaos.conftest import END, START, record_recovery, wait_group
from tests.chaos.invariants import check_invariants
from tests.conftest import wait_until

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


def signed_post(url: str, payload: dict):
    from fossil.signing import signed_headers

    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", **signed_headers("POST", url, body)}
    return requests.post(url, data=body, headers=headers, timeout=30)


def job_body(group_id: str, end: int = END) -> dict:
    window = {"start_timestamp": START, "end_timestamp": end}
    return {"job_group_id": group_id, "twap": window, "reserve_price": window, "max_return": window}


# Scenario S12 of docs/reliability.md.
def test_concurrent_duplicate_submissions(chaos_worker, seeded, clean_queues, live_server):
    group_id = "d" * 64
    url = f"{live_server.url}/api/job"
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda _: signed_post(url, job_body(group_id)), range(20)))
    codes = sorted(r.status_code for r in responses)
    assert all(code in (200, 201, 202) for code in codes), [(r.status_code, r.text[:200]) for r in responses]
    assert {r.json()["job_group_id"] for r in responses} == {group_id}
    assert JobGroup.objects.filter(pk=group_id).count() == 1
    conflict = signed_post(url, job_body(group_id, end=END - 3600))
    assert conflict.status_code in (409, 422), conflict.status_code
    t0 = time.monotonic()
    chaos_worker(beat=True)
    wait_group(group_id)
    elapsed = time.monotonic() - t0
    check_invariants(clean_queues, groups=[group_id], executions_equal_attempts=True)
    record_recovery("S12 20 concurrent identical POST /api/job", f"1 group, codes {set(codes)}, conflict 409", elapsed)


class Receiver:
    """A callback target that answers 500 while down and counts accepted deliveries."""

    def __init__(self):
        self.up = False
        self.accepted: list[str] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.up:
                    receiver.accepted.append(self.path)
                    self.send_response(200)
                else:
                    receiver.refused += 1
                    self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# Scenario S13 of docs/reliability.md.
def test_a_callback_target_that_is_down(chaos_worker, make_group, clean_queues):
    receiver = Receiver()
    try:
        chaos_worker(env={"OFFCHAIN_CALLBACK_URL": receiver.url}, beat=True)
        group = make_group()
        wait_group(group)  # the job completes regardless of the callback
        wait_until(lambda: receiver.refused >= 2, timeout=30, what="refused callbacks")
        assert JobGroup.objects.get(pk=group).notified_at is None
        t0 = time.monotonic()
        receiver.up = True
        wait_until(lambda: JobGroup.objects.get(pk=group).notified_at is not None, timeout=60, what="notification")
        elapsed = time.monotonic() - t0
        check_invariants(clean_queues, groups=[group])
        time.sleep(3)  # reconciler ticks and queued retries must not deliver again
        assert receiver.accepted == [f"/internal/job_groups/{group}/finished"], receiver.accepted
    finally:
        receiver.close()
    record_recovery(
        "S13 callback target down (500s), then up",
        f"SUCCEEDED anyway; {receiver.refused} refused, exactly 1 accepted",
        elapsed,
    )
