from __future__ import annotations

import time

import pytest

from handler.proofs import django_glue
from handler.proofs.records import ProofInputs
from handler.proofs.verify import verify_record


@pytest.fixture
def key_settings(settings, tmp_path):
    settings.PROVER_KEY_FILE = str(tmp_path / "run" / "prover.pem")
    settings.PROVER_BACKEND = "attested"
    django_glue.reset_caches()
    yield settings
    django_glue.reset_caches()


def test_glue_verifies_attested_records_with_the_published_key(key_settings):
    provider = django_glue.build_provider("attested", key_file=key_settings.PROVER_KEY_FILE, run_checks=False)
    record = provider.prove(ProofInputs("j", "twap", 0, 3600, 2.0, (0,) * 8), deadline=time.monotonic() + 1)
    published = bytes.fromhex(django_glue.prover_key_json()["public_key"][2:])
    assert verify_record(record.to_json(), published).value_f64 == 2.0
    assert django_glue.verify_before_store(record).metric == "twap"
    key_settings.PROVER_BACKEND = "dev"
    django_glue.reset_caches()
    assert django_glue.get_provider().kind == "dev"
