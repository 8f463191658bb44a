"""scripts/sqs_emulator.py replaces three of moto's functions; each must answer as the original."""

from __future__ import annotations

import datetime
import time

import pytest
from moto import backends
from moto.core import utils as moto_utils
from moto.sqs import models as sqs_models
from moto.sqs.models import Message, SQSBackend

from scripts import sqs_emulator


@pytest.fixture
def installed():
    saved = (
        sqs_models.unix_time,
        sqs_models.unix_time_millis,
        SQSBackend.is_message_valid_based_on_retention_period,
        backends.list_of_moto_modules,
    )
    original_modules = sorted(backends.list_of_moto_modules())
    sqs_emulator.install()
    yield original_modules
    (
        sqs_models.unix_time,
        sqs_models.unix_time_millis,
        SQSBackend.is_message_valid_based_on_retention_period,
        backends.list_of_moto_modules,
    ) = saved


def test_the_replaced_names_still_exist_in_moto():
    # a moto upgrade that renames them would leave the originals in place, silently slow
    assert callable(sqs_models.unix_time) and callable(sqs_models.unix_time_millis)
    assert callable(SQSBackend.is_message_valid_based_on_retention_period)
    assert callable(backends.list_of_moto_modules)


def test_the_clock_gives_moto_s_epoch_seconds():
    before = moto_utils.unix_time()
    ours = sqs_emulator.unix_time()
    after = moto_utils.unix_time()
    assert before - 0.01 <= ours <= after + 0.01
    assert abs(sqs_emulator.unix_time_millis() / 1000.0 - time.time()) < 0.05
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, 600000)
    assert sqs_emulator.unix_time(moment) == moto_utils.unix_time(moment)


def test_the_module_list_is_moto_s(installed):
    assert sorted(backends.list_of_moto_modules()) == installed
    assert "sqs" in backends.list_of_moto_modules()


@pytest.mark.parametrize("age_seconds, retention, valid", [(10, 60, True), (61, 60, False), (0, 345600, True)])
def test_retention_is_read_from_the_queue_as_moto_does(installed, age_seconds, retention, valid):
    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("q", MessageRetentionPeriod=str(retention))
    message = Message("m-1", "body")
    message.sent_timestamp = int((time.time() - age_seconds) * 1000)
    original = SQSBackend.__dict__["is_message_valid_based_on_retention_period"]
    assert original is sqs_emulator.is_message_valid_based_on_retention_period
    assert sqs_emulator.is_message_valid_based_on_retention_period(backend, "q", message) is valid
    expected = retention + message.sent_timestamp / 1000 > moto_utils.unix_time()
    assert valid is expected


def test_a_receive_through_the_emulator_behaves_as_sqs(installed):
    backend = SQSBackend("us-east-1", "123456789012")
    backend.create_queue("work", VisibilityTimeout="30")
    for n in range(5):
        backend.send_message("work", f"m{n}")
    first = backend.receive_message("work", count=3, wait_seconds_timeout=0, visibility_timeout=30)
    second = backend.receive_message("work", count=10, wait_seconds_timeout=0, visibility_timeout=30)
    assert [m.body for m in first] == ["m0", "m1", "m2"]
    assert [m.body for m in second] == ["m3", "m4"]
    assert backend.receive_message("work", count=10, wait_seconds_timeout=0, visibility_timeout=30) == []
    attributes = backend.get_queue_attributes("work", ["All"])
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == 5
    assert attributes["ApproximateNumberOfMessages"] == 0
