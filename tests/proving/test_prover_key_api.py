from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory

from handler.proofs import django_glue
from handler.proofs.keys import key_id
from handler.proofs.providers import AttestedProofProvider
from proving.apis import ProverKeyApi


@pytest.fixture
def key_settings(settings, tmp_path):
    settings.PROVER_KEY_FILE = str(tmp_path / "run" / "prover.pem")
    settings.PROVER_BACKEND = "attested"
    django_glue.reset_caches()
    yield settings
    django_glue.reset_caches()


@pytest.mark.django_db
def test_prover_key_api_serves_the_signing_key(key_settings, api_key):
    assert ProverKeyApi.as_view()(APIRequestFactory().get("/api/prover_key")).status_code == 401
    resp = ProverKeyApi.as_view()(APIRequestFactory().get("/api/prover_key", HTTP_X_API_KEY=api_key))
    assert resp.status_code == 200
    body = resp.data
    assert body["algorithm"] == "ed25519" and body["public_key"].startswith("0x") and len(body["public_key"]) == 66
    published = bytes.fromhex(body["public_key"][2:])
    assert body["key_id"] == key_id(published)
    provider = django_glue.get_provider()
    assert isinstance(provider, AttestedProofProvider)
    assert provider.public_key == published
