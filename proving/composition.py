"""A completed group's composition output: the reference's 16-field journal, whose middle
nine fields are the vault's result order, signed (attested) or marked (dev) by the
configured provider once the group's three job proofs have been verified and stored."""

from __future__ import annotations

import logging
import time

from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.django_glue import coprocessor_profile, get_provider
from handler.prover_keys import checked_signer
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


def _proved_round(jobs: list[Job], journal: CompositionJournal) -> tuple[dict | None, str]:
    """The composition proof of the coprocessor's programs, if the reserve-price job carries one
    whose journal is exactly this group's results; else why the group is not verifiable on-chain."""
    by_metric = {job.metric: job for job in jobs}
    reserve = by_metric["reserve_price"]
    rules = {job.metric: (job.result or {}).get("rules") for job in jobs}
    if len(set(rules.values())) != 1 or rules["reserve_price"] in (None, "engine"):
        return None, "the request is not a vault round (docs/proofs.md, 'Vault-verifiable requests')"
    proof = getattr(reserve, "proof", None)
    if proof is None or proof.kind != "groth16":
        return (
            None,
            f"this deployment proves with {proof.kind if proof else 'no'} records, not the coprocessor's programs",
        )
    if bytes(proof.journal) != journal.encode():
        return None, "the composition proof's journal is not this group's results"
    verifier_problem = coprocessor_profile().verifier_problem()
    if verifier_problem is not None:
        return None, verifier_problem
    return {"record": proof.record, "starknet": proof.starknet}, ""


def group_result(jobs: list[Job]) -> dict:
    journal = composition_journal(jobs)
    round_proof, reason = _proved_round(jobs, journal)
    if round_proof is not None:
        return {
            "vault_result": vault_result(journal),
            "composition_journal": "0x" + journal.encode().hex(),
            "composition_proof": round_proof["record"],
            "composition_calldata": round_proof["starknet"],
            "verifiable_on_chain": True,
            "rules": jobs[0].result.get("rules") if jobs[0].result else None,
        }
    provider = checked_signer(get_provider())
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
        "verifiable_on_chain": False,
        "not_verifiable_reason": reason,
        "rules": ({job.metric: job.result or {} for job in jobs}["reserve_price"]).get("rules") or "engine",
    }
