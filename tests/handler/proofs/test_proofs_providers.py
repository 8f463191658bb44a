from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from proofs_support import VECTORS

from handler import pricing
from handler.pricing.csvio import read_series_csv
from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.errors import PricingCheckFailed, ProofConfigurationError, ProofVerificationError
from handler.proofs.journal import MetricJournal
from handler.proofs.keys import create_private_key_file, key_id, load_private_key_file, public_key_bytes
from handler.proofs.programs import program_image_id
from handler.proofs.providers import (
    AttestedProofProvider,
    DevProofProvider,
    ProofProvider,
    build_provider,
)
from handler.proofs.records import ATTESTED_SELECTOR, DEV_SELECTOR, ProofInputs, ProofRecord
from handler.proofs.risc0.claim import claim_digest
from handler.proofs.verify import verify_record

HOUR = 3600


@pytest.fixture(scope="module")
def dataset_a():
    s = read_series_csv(VECTORS / "first_period_hourly_avg_base_fee.csv")
    return [int(t) for t in s.timestamps], [float(v) for v in s.values]


def make_inputs(metric, ts, values, value=None, claims=None):
    commitment = pricing.data_commitment([pricing.float_to_felt(v) for v in values])
    if value is None:
        value = pricing.twap(values) if metric == "twap" else pricing.max_return(values).value
    return ProofInputs(
        job_id=f"job-{metric}",
        metric=metric,
        window_start=ts[0],
        window_end=ts[-1] + HOUR,
        value=value,
        data_commitment=tuple(commitment),
        series_timestamps=tuple(ts),
        series_values=tuple(values),
        claims=claims or {},
    )


@pytest.fixture
def attested(tmp_path):
    create_private_key_file(tmp_path / "keys" / "prover.pem")
    return build_provider("attested", key_file=str(tmp_path / "keys" / "prover.pem"))


def test_key_created_only_explicitly_with_mode_0600_in_a_0700_directory(tmp_path):
    path = tmp_path / "sub" / "dir" / "k.pem"
    with pytest.raises(ProofConfigurationError, match="create_prover_key"):
        build_provider("attested", key_file=str(path))
    assert not path.exists()
    k1, created = create_private_key_file(path)
    assert created and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    k2, created = create_private_key_file(path)
    assert not created and public_key_bytes(k1) == public_key_bytes(load_private_key_file(path)) == public_key_bytes(k2)
    assert len(key_id(public_key_bytes(k1))) == 16
    os.chmod(path, 0o640)
    with pytest.raises(ProofConfigurationError, match="mode 0640"):
        load_private_key_file(path)
    os.chmod(path, 0o600)
    path.write_text("not a key")
    os.chmod(path, 0o600)
    with pytest.raises(ProofConfigurationError):
        load_private_key_file(path)


def test_attested_twap_record_verifies_with_published_key(attested, dataset_a):
    ts, values = dataset_a
    inputs = make_inputs("twap", ts[-720:], values[-720:])
    assert isinstance(attested, ProofProvider) and attested.kind == "attested"
    record = attested.prove(inputs, deadline=time.monotonic() + 30)
    assert record.kind == "attested" and record.selector == ATTESTED_SELECTOR
    assert record.image_id == program_image_id("twap")
    assert record.claim_digest == claim_digest(record.image_id, record.journal)
    assert "not a zero-knowledge proof" in record.stats["statement"]
    assert [c["name"] for c in record.stats["checks"]] == ["twap"]
    as_json = json.loads(json.dumps(record.to_json()))
    assert ProofRecord.from_json(as_json) == record
    journal = verify_record(as_json, attested.public_key)
    assert isinstance(journal, MetricJournal)
    assert journal.value_f64 == inputs.value and journal.window_start == inputs.window_start
    assert journal.data_commitment == inputs.data_commitment


def test_attested_refuses_wrong_values(attested, dataset_a):
    ts, values = dataset_a
    inputs = make_inputs("twap", ts[-720:], values[-720:])
    with pytest.raises(PricingCheckFailed, match="twap"):
        attested.prove(replace(inputs, value=inputs.value * 1.02), deadline=time.monotonic() + 30)
    with pytest.raises(PricingCheckFailed, match="data commitment"):
        attested.prove(replace(inputs, data_commitment=(1,) * 8), deadline=time.monotonic() + 30)
    with pytest.raises(PricingCheckFailed, match="window"):
        attested.prove(replace(inputs, window_start=ts[-1]), deadline=time.monotonic() + 30)
    mr = make_inputs("max_return", ts, values)
    assert attested.prove(mr, deadline=time.monotonic() + 30).kind == "attested"
    with pytest.raises(PricingCheckFailed, match="max_return"):
        attested.prove(replace(mr, value=mr.value + 1e-12), deadline=time.monotonic() + 30)


def test_attested_reserve_price_runs_verifier_checks(attested, dataset_a):
    ts, values = dataset_a
    result = pricing.reserve_price(values, ts, seed=11)
    inputs = make_inputs("reserve_price", ts, values, value=result.price, claims=result.to_json())
    record = attested.prove(inputs, deadline=time.monotonic() + 120)
    names = [c["name"] for c in record.stats["checks"]]
    assert "gradient" in names and "reserve_price" in names
    assert verify_record(record.to_json(), attested.public_key).metric == "reserve_price"
    bad_params = dict(result.to_json())
    bad_params["params"] = {**bad_params["params"], "a": bad_params["params"]["a"] * 3}
    with pytest.raises(PricingCheckFailed):
        attested.prove(replace(inputs, claims=bad_params), deadline=time.monotonic() + 120)
    with pytest.raises(PricingCheckFailed, match="claims"):
        attested.prove(replace(inputs, claims={}), deadline=time.monotonic() + 120)


def test_dev_record_is_fake_and_labelled():
    inputs = ProofInputs("j", "twap", 0, 3600, 1.5e9, (0,) * 8)
    record = DevProofProvider().prove(inputs, deadline=time.monotonic() + 1)
    assert record.seal == DEV_SELECTOR + record.claim_digest and record.selector == DEV_SELECTOR
    assert "can never pass an on-chain verifier" in record.stats["warning"]
    assert not record.is_zero_knowledge
    assert verify_record(record.to_json()).value_f64 == 1.5e9


def test_composition_record(attested):
    j = CompositionJournal.build(
        data_commitment=(3,) * 8,
        start_timestamp=0,
        end_timestamp=10,
        reserve_price=(0, 10, 2e9),
        twap=(5, 10, 1e9),
        max_return=(0, 10, 0.25),
    )
    record = attested.compose(j, deadline=time.monotonic() + 1)
    assert record.image_id == program_image_id("composition")
    assert verify_record(record.to_json(), attested.public_key) == j


def _tamper(d: dict, key: str, flip_at: int = -1) -> dict:
    raw = bytearray(bytes.fromhex(d[key][2:]))
    raw[flip_at] ^= 0x01
    return {**d, key: "0x" + raw.hex()}


def test_verify_rejects_tampering(attested):
    inputs = ProofInputs("j", "twap", 0, 3600, 1.5e9, (7,) * 8)
    d = AttestedProofProvider(attested._key, run_checks=False).prove(inputs, deadline=time.monotonic() + 1).to_json()
    pub = attested.public_key
    verify_record(d, pub)
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(_tamper(d, "journal"), pub)
    assert ei.value.check == "claim digest"
    # journal re-signed consistently but with a different digest recorded: still caught
    forged_journal = MetricJournal.build(
        data_commitment=(7,) * 8, metric="twap", window_start=0, window_end=3600, value=9e9
    ).encode()
    forged = {
        **d,
        "journal": "0x" + forged_journal.hex(),
        "claim_digest": "0x" + claim_digest(program_image_id("twap"), forged_journal).hex(),
    }
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(forged, pub)
    assert ei.value.check == "signature"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(_tamper(d, "seal"), pub)
    assert ei.value.check == "seal"
    sig_tampered = _tamper(d, "signature")
    sig_tampered["seal"] = "0x" + ATTESTED_SELECTOR.hex() + sig_tampered["signature"][2:]
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(sig_tampered, pub)
    assert ei.value.check == "signature"
    other_key = AttestedProofProvider(Ed25519PrivateKey.generate())
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(d, other_key.public_key)
    assert ei.value.check == "public key"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record({**d, "public_key": None}, other_key.public_key)
    assert ei.value.check == "key id"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record({**d, "public_key": None, "key_id": None}, other_key.public_key)
    assert ei.value.check == "signature"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record({**d, "image_id": "0x" + "00" * 32}, pub)
    assert ei.value.check == "claim digest"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record({**d, "kind": "nonsense"}, pub)
    assert ei.value.check == "record format"


def test_verify_rejects_dev_seal_and_wrong_program():
    inputs = ProofInputs("j", "max_return", 0, 3600, 0.5, (1,) * 8)
    d = DevProofProvider().prove(inputs, deadline=0).to_json()
    with pytest.raises(ProofVerificationError, match="^seal"):
        verify_record(_tamper(d, "seal"))
    # a max_return journal under the twap program id
    twap_id = program_image_id("twap")
    journal = bytes.fromhex(d["journal"][2:])
    moved = {**d, "image_id": "0x" + twap_id.hex(), "claim_digest": "0x" + claim_digest(twap_id, journal).hex()}
    moved["seal"] = "0xffffffff" + moved["claim_digest"][2:]
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(moved)
    assert ei.value.check == "image id"


def test_build_provider_errors(tmp_path):
    with pytest.raises(ProofConfigurationError, match="unknown PROVER_BACKEND"):
        build_provider("zk-magic")
    from proofs_support import test_profile

    from handler.pricing.vault import POC_SHAPE
    from handler.proofs.coprocessor.profile import Profile

    with pytest.raises(ProofConfigurationError, match="COPROCESSOR_PROFILE"):
        build_provider("bonsai", api_url="http://x", api_key="k", risc0_version="2.3.2")
    with pytest.raises(ProofConfigurationError, match="'fossil' guest contract"):
        build_provider("bonsai", api_url="http://x", api_key="k", image_id="ab" * 32, profile=test_profile())
    with pytest.raises(ProofConfigurationError, match="BONSAI_API_KEY"):
        build_provider("bonsai", api_url="http://x", profile=test_profile(), risc0_version="2.3.2")
    with pytest.raises(ProofConfigurationError, match="no 32-byte image id for hashing-felts"):
        build_provider("bonsai", api_url="http://x", api_key="k", risc0_version="2.3.2", profile=Profile(POC_SHAPE))
    p = build_provider(
        "bonsai", api_url="http://x", api_key="k", profile=test_profile(), risc0_version="2.3.2", selector="bb001d44"
    )
    assert p.kind == "groth16" and p.expected_selector == bytes.fromhex("bb001d44")
    assert p.image_ids == frozenset(test_profile().image_ids.values())
