"""The managed signing key: configuration, key ring, rotation, /api/prover_key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIRequestFactory

from handler.models import ProverKey
from handler.proofs import django_glue
from handler.proofs.errors import ProofConfigurationError, ProofVerificationError
from handler.proofs.keys import create_private_key_file, key_id, pem_bytes, public_key_bytes
from handler.proofs.providers import AttestedProofProvider
from handler.proofs.records import ProofInputs
from handler.proofs.verify import verify_record
from proving.apis import ProverKeyApi

REPO = Path(__file__).resolve().parents[2]
JOB = ProofInputs("j", "twap", 0, 3600, 2.0, (0,) * 8)


@pytest.fixture
def key_settings(settings, tmp_path):
    settings.PROVER_KEY_FILE = str(tmp_path / "run" / "prover.pem")
    settings.PROVER_PRIVATE_KEY = ""
    settings.PROVER_BACKEND = "attested"
    django_glue.reset_caches()
    yield settings
    django_glue.reset_caches()


def get_keys(api_key) -> dict:
    resp = ProverKeyApi.as_view()(APIRequestFactory().get("/api/prover_key", HTTP_X_API_KEY=api_key))
    assert resp.status_code == 200
    return resp.data


def sign(provider) -> dict:
    return AttestedProofProvider(provider._key, run_checks=False).prove(JOB, deadline=time.monotonic() + 1).to_json()


@pytest.mark.django_db
def test_prover_key_api_serves_the_signing_key(key_settings, api_key):
    create_private_key_file(key_settings.PROVER_KEY_FILE)
    assert ProverKeyApi.as_view()(APIRequestFactory().get("/api/prover_key")).status_code == 401
    body = get_keys(api_key)
    assert body["algorithm"] == "ed25519" and body["public_key"].startswith("0x") and len(body["public_key"]) == 66
    published = bytes.fromhex(body["public_key"][2:])
    assert body["key_id"] == key_id(published)
    assert [(k["key_id"], k["status"]) for k in body["keys"]] == [(body["key_id"], "current")]
    assert body["keys"][0]["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    provider = django_glue.get_provider()
    assert isinstance(provider, AttestedProofProvider) and provider.public_key == published


@pytest.mark.django_db
def test_no_key_is_ever_created_implicitly(key_settings, tmp_path, capsys):
    with pytest.raises(ProofConfigurationError, match="create_prover_key"):
        django_glue.get_provider()
    record = AttestedProofProvider(create_private_key_file(tmp_path / "elsewhere.pem")[0], run_checks=False)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record.prove(JOB, deadline=time.monotonic() + 1).to_json()))
    with pytest.raises(SystemExit) as ei:
        call_command("verify_receipt", str(path))
    assert ei.value.code == 1 and "FAILED public key" in capsys.readouterr().err
    assert not Path(key_settings.PROVER_KEY_FILE).exists()
    assert not Path(key_settings.PROVER_KEY_FILE).parent.exists()


@pytest.mark.django_db
def test_two_machines_with_the_documented_configuration_sign_with_one_key(key_settings, tmp_path):
    key, _ = create_private_key_file(tmp_path / "shared.pem")
    key_settings.PROVER_KEY_FILE = ""
    key_settings.PROVER_PRIVATE_KEY = pem_bytes(key).decode()  # machine A: the key as a secret
    django_glue.reset_caches()
    a = sign(django_glue.get_provider())
    key_settings.PROVER_PRIVATE_KEY = ""
    key_settings.PROVER_KEY_FILE = str(tmp_path / "shared.pem")  # machine B: the same key as a file
    django_glue.reset_caches()
    b = sign(django_glue.get_provider())
    assert a["key_id"] == b["key_id"] == key_id(public_key_bytes(key))
    assert ProverKey.objects.get().is_current


@pytest.mark.django_db
def test_rotation_retires_the_old_key_and_old_records_still_verify(key_settings, tmp_path, api_key, capsys):
    create_private_key_file(key_settings.PROVER_KEY_FILE)
    old_record = sign(django_glue.get_provider())
    old_id = old_record["key_id"]
    call_command("rotate_prover_key", "--generate", str(tmp_path / "next" / "prover.pem"))
    out = capsys.readouterr().out
    assert f"retired {old_id}" in out
    body = get_keys(api_key)
    assert body["key_id"] != old_id
    assert {k["key_id"]: k["status"] for k in body["keys"]} == {body["key_id"]: "current", old_id: "retired"}
    # a machine still configured with the retired key refuses to sign (retryable: another machine can)
    django_glue.reset_caches()
    with pytest.raises(ProofConfigurationError, match="not the current key") as ei:
        django_glue.get_provider()
    assert ei.value.retryable
    key_settings.PROVER_KEY_FILE = str(tmp_path / "next" / "prover.pem")
    django_glue.reset_caches()
    new_record = sign(django_glue.get_provider())
    assert new_record["key_id"] == body["key_id"]
    retired_at = ProverKey.objects.get(pk=old_id).retired_at
    before, after = str(int(retired_at.timestamp()) - 1), str(int(retired_at.timestamp()) + 1)
    for record, signed_at in ((old_record, before), (new_record, None)):
        assert django_glue.verify_before_store(record).metric == "twap"
        path = tmp_path / f"{record['key_id']}.json"
        path.write_text(json.dumps(record))
        call_command("verify_receipt", str(path), *(["--signed-at", signed_at] if signed_at else []))
        assert json.loads(capsys.readouterr().out)["key_id"] == record["key_id"]
    # a retired key verifies only what it signed before its retirement
    for late in ([], ["--signed-at", after]):
        with pytest.raises(SystemExit) as exit_info:
            call_command("verify_receipt", str(tmp_path / f"{old_id}.json"), *late)
        assert exit_info.value.code == 1 and f"FAILED key: key {old_id} was retired at" in capsys.readouterr().err
    published = {k["key_id"]: bytes.fromhex(k["public_key"][2:]) for k in body["keys"]}
    assert verify_record(old_record, public_keys=published).metric == "twap"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(old_record, public_keys={body["key_id"]: published[body["key_id"]]})
    assert ei.value.check == "key id"


def test_production_refuses_to_start_without_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVER_")}
    env.update(
        FOSSIL_REQUIRE_SECRETS="true",
        SECRET_KEY="7TAjJ0Ffo_Ev1bShQ0cADEy3pknOwtTbZUBwTWU6iOZZqYJYSbHIerHzIkQuYwaa",
        SERVICE_SHARED_SECRET="zGlpnagcxgCmX1w5Cpuun95c9kz1URq7iJDXnQUliGgwuc8P2RlEUmaT6wjnpqkU",
        DEBUG="false",
        PROVER_BACKEND="attested",
        ALLOWED_HOSTS="localhost",
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "PROVER_PRIVATE_KEY or PROVER_KEY_FILE" in proc.stderr


def test_the_documented_client_script_verifies_a_record(tmp_path):
    from handler.proofs.keys import public_key_pem

    key, _ = create_private_key_file(tmp_path / "k.pem")
    record = AttestedProofProvider(key, run_checks=False).prove(JOB, deadline=time.monotonic() + 1).to_json()
    pub = public_key_bytes(key)
    (tmp_path / "record.json").write_text(json.dumps(record))
    (tmp_path / "keys.json").write_text(
        json.dumps(
            {"keys": [{"key_id": key_id(pub), "public_key": "0x" + pub.hex(), "public_key_pem": public_key_pem(pub)}]}
        )
    )
    script = REPO / "docs" / "verify_attested_record.py"
    ok = subprocess.run(
        [sys.executable, str(script), "record.json", "keys.json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.startswith("ok: signed by prover key " + key_id(pub))
    forged = {**record, "journal": record["journal"][:-2] + "00"}
    (tmp_path / "record.json").write_text(json.dumps(forged))
    bad = subprocess.run(
        [sys.executable, str(script), "record.json", "keys.json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert bad.returncode != 0
