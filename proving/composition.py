"""A completed group's composition output: the reference's 16-field journal, whose middle
nine fields are the vault's result order, signed (attested) or marked (dev) by the
configured provider once the group's three job proofs have been verified and stored."""

from __future__ import annotations

import logging
import time

from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.django_glue import get_provider
from proving.models import Job

logger = logging.getLogger(__name__)

COMPOSE_DEADLINE_SECONDS = 30


def _result(job: Job) -> dict:
    assert job.result is not None, f"job {job.pk} has no result"  # only succeeded jobs are composed
    return job.result


def _window(job: Job) -> tuple[int, int, float]:
    return (job.start_timestamp, job.end_timestamp, float(_result(job)["value"]))


def composition_journal(jobs: list[Job]) -> CompositionJournal:
    by_metric = {job.metric: job for job in jobs}
    reserve_price = by_metric["reserve_price"]
    return CompositionJournal.build(
        # The reference commits to the longest series, the one max return is computed on.
        data_commitment=_result(by_metric["max_return"])["data_commitment"],
        start_timestamp=reserve_price.start_timestamp,
        end_timestamp=reserve_price.end_timestamp,
        reserve_price=_window(reserve_price),
        twap=_window(by_metric["twap"]),
        max_return=_window(by_metric["max_return"]),
    )


def vault_result(journal: CompositionJournal) -> list[str]:
    """The 9 felts for fossil_callback: timestamps as hex, values as 66-character fixed-point hex."""
    return [hex(felt) if index % 3 != 2 else f"0x{felt:064x}" for index, felt in enumerate(journal.verifier_data())]


def group_result(jobs: list[Job]) -> dict:
    journal = composition_journal(jobs)
    provider = get_provider()
    compose = getattr(provider, "compose", None)
    proof = None
    if compose is not None:
        proof = compose(journal, deadline=time.monotonic() + COMPOSE_DEADLINE_SECONDS).to_json()
    else:
        logger.info("provider %s does not compose group proofs; storing the journal only", provider.kind)
    return {
        "vault_result": vault_result(journal),
        "composition_journal": "0x" + journal.encode().hex(),
        "composition_proof": proof,
    }
