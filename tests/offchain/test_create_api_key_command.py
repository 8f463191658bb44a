from __future__ import annotations

import pytest
from django.core.management import call_command

from offchain.models import ApiKey
from offchain.selectors import api_key_for

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_a_working_key_once(capsys):
    call_command("create_api_key", "ops")
    out = capsys.readouterr().out
    raw = out.strip().splitlines()[-1]
    assert api_key_for(raw).name == "ops"
    assert raw not in ApiKey.objects.get(name="ops").key_hash
