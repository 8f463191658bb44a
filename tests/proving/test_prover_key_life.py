"""A key's life (current, retired, revoked) and a machine whose key is not current: it takes no
jobs, hands back what it claimed without spending an attempt, and stores nothing it signed."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from celery.worker import state as worker_state
from django.core.management import call_command
from rest_framework.test import APIClient, APIRequestFactory

from handler import signing_key_guard
from handler.models import ProverKey
from handler.proofs import django_glue
from handler.proofs.keys import create_private_key_file, key_id, public_key_bytes
from handler.proofs.providers import AttestedProofProvider
from handler.proofs.records import ProofInputs
from handler.prover_keys import (
    SigningKeyNotCurrent,
    checked_signer,
    key_life_problem,
    prover_key_register,
    prover_key_rotate,
)
from proving import jobs as job_transitions
from proving import runner
from proving import services as proving_services
from proving.apis import ProverKeyApi
from proving.models import Job, Proof
from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db

START, END = EXAMPLE_REQUEST["params"]["twap"]
JOB = ProofInputs("j", "twap", 0, 3600, 2.0, (0,) * 8)


@pytest.fixture
def machine(settings, tmp_path):
    """This machine's key, current in the ring; rotate(): another machine made a new key current."""
    settings.PROVER_KEY_FILE = str(tmp_path / "prover.pem")
    settings.PROVER_PRIVATE_KEY = ""
    settings.PROVER_BACKEND = "attested"
    key, _ = create_private_key_file(settings.PROVER_KEY_FILE)
    django_glue.reset_caches()
    prover_key_register(public_key_bytes(key))

    class Machine:
        own_id = key_id(public_key_bytes(key))

        @staticmethod
        def rotate() -> str:
            new, _ = create_private_key_file(tmp_path / f"next-{time.monotonic_ns()}.pem")
            prover_key_rotate(public_key_bytes(new))
            return key_id(public_key_bytes(new))

    yield Machine
    django_glue.reset_caches()


@pytest.fixture
def chain(db):
    call_command("seed_demo_chain", "--start", str(START - 3600), "--end", str(END + 600))


def new_group(group_id: str = "k1") -> dict[str, Job]:
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id=group_id, ranges=ranges)
    return {job.metric: job for job in group.jobs.all()}


def record_file(tmp_path, record: dict):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    return str(path)


def test_a_job_on_a_machine_whose_key_was_retired_is_handed_back_not_failed(machine, chain):
    job = new_group()["twap"]
    current = machine.rotate()
    outcome = runner.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert outcome.status == "retry" and outcome.retry_in == runner.KEY_HANDBACK_SECONDS
    assert (job.status, job.attempts, job.error_code, job.lease_token) == ("pending", 0, "", None)
    assert not Proof.objects.exists()
    with pytest.raises(SigningKeyNotCurrent) as exc_info:
        checked_signer(django_glue.get_provider())
    assert exc_info.value.configured == machine.own_id and exc_info.value.current == current


def test_a_record_signed_before_a_rotation_is_not_stored_after_it(machine, chain):
    job = new_group()["twap"]
    token = job_transitions.job_claim(job_id=job.pk)
    provider = django_glue.get_provider()
    inputs = ProofInputs(str(job.pk), "twap", START, END, 2.0, (0,) * 8)
    record = AttestedProofProvider(provider._key, run_checks=False).prove(inputs, deadline=time.monotonic() + 5)
    machine.rotate()  # while the proof ran
    with pytest.raises(SigningKeyNotCurrent):
        job_transitions.job_succeed(job_id=job.pk, token=token, result={"value": "2.0"}, record=record)
    job.refresh_from_db()
    assert job.status == "running" and not Proof.objects.exists()  # nothing stored; the runner hands it back


def test_readiness_names_both_key_ids_when_this_machines_key_is_not_current(machine):
    assert APIClient().get("/health/ready").json()["checks"]["prover_key"] == "ok"
    current = machine.rotate()
    response = APIClient().get("/health/ready")
    assert response.status_code == 503
    message = response.json()["checks"]["prover_key"]
    assert machine.own_id in message and current in message and message.startswith("error: ")


def test_a_worker_with_a_key_that_is_not_current_refuses_to_start_or_stops(machine, capsys, monkeypatch):
    signing_key_guard.refuse_to_start_with_a_key_that_is_not_current()  # the current key: starts
    machine.rotate()
    with pytest.raises(SystemExit) as exit_info:
        signing_key_guard.refuse_to_start_with_a_key_that_is_not_current()
    assert exit_info.value.code == signing_key_guard.EXIT_KEY_NOT_CURRENT
    assert f"refusing to start: the configured prover key {machine.own_id}" in capsys.readouterr().err
    monkeypatch.setattr(worker_state, "should_stop", None)
    assert machine.own_id in signing_key_guard.KeyGuard().look()  # what the running worker's thread does
    assert worker_state.should_stop == signing_key_guard.EXIT_KEY_NOT_CURRENT  # a warm shutdown, exit 4


def test_retired_keys_verify_only_what_they_signed_before_and_revoked_keys_nothing(machine, tmp_path, capsys):
    record = AttestedProofProvider(django_glue.get_signing_key(), run_checks=False).prove(
        JOB, deadline=time.monotonic() + 5
    )
    assert key_life_problem(machine.own_id, None) is None  # current
    machine.rotate()
    retired_at = ProverKey.objects.get(pk=machine.own_id).retired_at
    assert key_life_problem(machine.own_id, retired_at - timedelta(seconds=1)) is None
    assert "was retired at" in key_life_problem(machine.own_id, retired_at)
    call_command("revoke_prover_key", machine.own_id, "--reason", "key file leaked")
    assert "revoked" in capsys.readouterr().out
    problem = key_life_problem(machine.own_id, retired_at - timedelta(seconds=1))
    assert problem.startswith(f"key {machine.own_id} was revoked at") and problem.endswith(": key file leaked")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_receipt", record_file(tmp_path, record.to_json()), "--signed-at", "1")
    assert exit_info.value.code == 1
    assert "FAILED key: key" in capsys.readouterr().err
    body = ProverKeyApi.as_view()(APIRequestFactory().get("/api/prover_key", HTTP_X_API_KEY=_api_key())).data
    states = {k["key_id"]: (k["status"], k["revoked_reason"]) for k in body["keys"]}
    assert states[machine.own_id] == ("revoked", "key file leaked")
    assert [status for status, _ in states.values()].count("current") == 1


def test_revoking_the_current_key_leaves_none_and_no_machine_signs_until_a_rotation(machine, capsys):
    call_command("revoke_prover_key", machine.own_id, "--reason", "compromised")
    assert "no key is current now" in capsys.readouterr().out
    django_glue.reset_caches()
    with pytest.raises(SigningKeyNotCurrent):
        django_glue.get_provider()
    with pytest.raises(SystemExit) as exit_info:
        call_command("revoke_prover_key", "0" * 16, "--reason", "x")
    assert exit_info.value.code == 2 and "no prover key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        call_command("revoke_prover_key", machine.own_id, "--reason", "  ")


def _api_key() -> str:
    from offchain.services import api_key_create

    return api_key_create(name="key-life")[1]


def test_the_documented_client_script_honours_retired_and_revoked_keys(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    key, _ = create_private_key_file(tmp_path / "k.pem")
    public = public_key_bytes(key)
    record = AttestedProofProvider(key, run_checks=False).prove(JOB, deadline=time.monotonic() + 5).to_json()
    (tmp_path / "record.json").write_text(json.dumps(record))
    base = {"key_id": key_id(public), "public_key": "0x" + public.hex()}

    def run(key_entry: dict, *issued_at: str) -> subprocess.CompletedProcess:
        (tmp_path / "keys.json").write_text(json.dumps({"keys": [{**base, **key_entry}]}))
        script = REPO / "docs" / "verify_attested_record.py"
        argv = [sys.executable, str(script), "record.json", "keys.json", *issued_at]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert run({"status": "current"}).returncode == 0
    retired = {"status": "retired", "retired_at": "2026-06-01T00:00:00+00:00"}
    assert run(retired, "2026-05-31T23:59:59Z").returncode == 0
    assert "was retired at" in run(retired, "2026-06-01T00:00:01Z").stderr
    assert run(retired).returncode != 0
    revoked = {"status": "revoked", "revoked_at": "2026-06-02T00:00:00+00:00", "revoked_reason": "key file leaked"}
    answer = run(revoked, "2026-01-01T00:00:00Z")
    assert answer.returncode != 0 and "revoked at 2026-06-02T00:00:00+00:00: key file leaked" in answer.stderr
