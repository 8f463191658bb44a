"""One key everywhere, with real workers: a machine with another key takes no jobs, and a
rotation under load loses nothing and stores no record signed with the retired key after it."""

from __future__ import annotations

import copy
import subprocess

import pytest
import requests
from django.conf import settings
from django.core.management import call_command

from handler.models import ProverKey
from handler.proofs.keys import create_private_key_file, key_id, load_private_key_file, public_key_bytes
from handler.prover_keys import prover_key_register
from handler.signing_key_guard import EXIT_KEY_NOT_CURRENT
from proving.models import Job, JobGroup, Proof
from tests.conftest import EXAMPLE_REQUEST, devstack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLE_START, EXAMPLE_END = EXAMPLE_REQUEST["params"]["twap"]


@pytest.fixture
def chain(transactional_db):
    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))


def test_a_machine_with_another_key_refuses_to_start_naming_both_keys(worker_env, chain, tmp_path):
    current = public_key_bytes(load_private_key_file(settings.PROVER_KEY_FILE))
    prover_key_register(current)
    wrong = tmp_path / "wrong.pem"
    create_private_key_file(wrong)
    proc = subprocess.run(
        [*devstack.celery_worker("proofs", "wrongly-keyed", 1), "--without-heartbeat", "--without-mingle"],
        cwd=devstack.REPO,
        env=dict(worker_env, PROVER_KEY_FILE=str(wrong)),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == EXIT_KEY_NOT_CURRENT, proc.stderr[-2000:]
    wrong_id = key_id(public_key_bytes(load_private_key_file(wrong)))
    assert f"refusing to start: the configured prover key {wrong_id} is not the current key ({key_id(current)})" in (
        proc.stderr
    )


def test_a_rotation_under_load_loses_no_job_and_signs_nothing_with_the_retired_key(
    live_server, make_worker, chain, api_key, tmp_path
):
    old_id = key_id(public_key_bytes(load_private_key_file(settings.PROVER_KEY_FILE)))
    old_machine = make_worker(env={"KEY_CHECK_SECONDS": "1"}, concurrency=1)
    job_ids = []
    for n in range(4):
        body = copy.deepcopy(EXAMPLE_REQUEST)
        body["client_info"]["timestamp"] += n
        response = requests.post(
            f"{live_server.url}/pricing_data", json=body, headers={"X-API-Key": api_key}, timeout=30
        )
        assert response.status_code == 201, response.text
        job_ids.append(response.json()["job_id"])
    wait_until(
        lambda: Job.objects.filter(status="succeeded").exists(), timeout=120, what="the first proof under the old key"
    )

    new_path = tmp_path / "next" / "prover.pem"
    call_command("rotate_prover_key", "--generate", str(new_path))
    retired_at = ProverKey.objects.get(pk=old_id).retired_at
    assert old_machine.proc.wait(timeout=90) == EXIT_KEY_NOT_CURRENT  # stopped consuming by itself
    assert "stopping this worker (exit 4)" in old_machine.log_tail(20000)
    unfinished = Job.objects.exclude(status="succeeded").count()
    new_machine = make_worker(env={"PROVER_KEY_FILE": str(new_path), "KEY_CHECK_SECONDS": "1"})

    def all_done():
        statuses = set(JobGroup.objects.filter(pk__in=job_ids).values_list("status", flat=True))
        assert "failed" not in statuses, JobGroup.objects.filter(status="failed").values_list("error", flat=True)
        return statuses == {"completed"}

    wait_until(all_done, timeout=300, interval=1, what="every request to complete after the rotation")
    print(f"rotation: {unfinished} of 12 jobs unfinished when the old key was retired; all completed")
    new_id = key_id(public_key_bytes(load_private_key_file(new_path)))
    assert not Job.objects.filter(status="failed").exists()
    for proof in Proof.objects.all():
        assert proof.record["key_id"] in (old_id, new_id)
        if proof.record["key_id"] == old_id:
            assert proof.created_at < retired_at, "a record of the retired key stored after the rotation"
    for group in JobGroup.objects.filter(pk__in=job_ids):
        composed = group.result["composition_proof"]
        assert composed["key_id"] == new_id or group.finished_at < retired_at
    assert new_machine.proc.poll() is None
