from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from offchain.services import api_key_create


@pytest.fixture
def other_client(db):
    """A second client with its own API key (tenancy tests)."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key_create(name="other")[1])
    return client
