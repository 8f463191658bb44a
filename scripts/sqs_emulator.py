"""The local SQS endpoint of `make run`, `make test` and the benchmarks: moto's server
(moto[server], pinned in requirements-dev.txt) with three of its costs that grow with the
number of messages taken out, so that a backlog costs what it costs on SQS.

Measured with `make bench-load` (1,000 README requests, moto 5.2.5): moto used 80 % of a
core while the proofs workers idled at 4 %, and 176 requests had completed after 15 minutes.
py-spy on the moto process showed where, per ReceiveMessage:

* for every message it hands out, `is_message_valid_based_on_retention_period` calls
  `get_queue_attributes`, which builds every attribute of the queue, three of them by
  walking all its messages (visible, in flight, delayed): O(backlog) per message;
* every visibility check of every message computes the time through two naive-datetime
  constructions (`unix_time`), which was half of moto's samples;
* every request lists the directories of the moto package to route it (`list_of_moto_modules`)
  under the dispatcher's lock.

Each replacement returns what the original returns: the queue's retention period read from
the queue, the same epoch seconds from `time.time()`, the same module names, listed once.
`tests/fossil/test_sqs_emulator.py` checks that, and that the replaced names still exist, so
a moto upgrade that moves them fails there rather than silently going slow again.
"""

from __future__ import annotations

import datetime
import functools
import sys
import time

from moto import backends
from moto.core import utils as moto_utils
from moto.sqs import models as sqs_models
from moto.sqs.models import SQSBackend


def unix_time(dt: datetime.datetime | None = None) -> float:
    if dt is None:
        return time.time()
    return moto_utils.unix_time(dt)


def unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return unix_time(dt) * 1000.0


def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message) -> bool:
    retention_period = self.get_queue(queue_name).message_retention_period
    return retention_period + message.sent_timestamp / 1000 > unix_time()


def install() -> None:
    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.cache(lambda: modules)


def main(argv: list[str]) -> None:
    install()
    from moto.server import main as moto_main  # after install(): it binds nothing we replace

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
