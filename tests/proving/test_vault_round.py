"""A vault round end to end in one process, on real Postgres: the three jobs priced by the
coprocessor programs' rules from stored blocks, the group completed, its verifiability stated;
and through an enforcing Bento-compatible server, one composition proof whose journal is the
published results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from handler.models import BlockHeader
from handler.pricing.vault import HOUR, round_max_return, values_from_felts
from handler.proofs import django_glue
from handler.proofs.coprocessor.inputs import COMPOSITION, PROGRAMS
from handler.proofs.coprocessor.journals import CompositionJournal
from handler.proofs.coprocessor.profile import load_profile
from handler.proofs.providers import build_provider
from handler.proofs.risc0 import groth16
from handler.proofs.risc0.receipt import parse_receipt
from proving import runner
from proving import services as proving_services
from proving.models import Job, JobGroup
from tests.conftest import VECTORS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler" / "proofs"))
from fake_bento import Bento, BentoServer, stand_in_elf  # noqa: E402
from test_round_pipeline import IMAGE_IDS  # noqa: E402

pytestmark = pytest.mark.django_db

ROWS = np.loadtxt(VECTORS / "max_return_input_hourly_avg_base_fee.csv", delimiter=",", skiprows=1)[2880:4320]
END = int(ROWS[-1, 0]) + HOUR
GROUP = "a" * 64


@pytest.fixture(autouse=True)
def round_time_limit(settings):
    # a round prices 200,000 paths and runs the programs' checks in one job: more than the tests' 20 s
    settings.PROOF_SOFT_TIME_LIMIT = 600


def _insert_blocks(rows) -> None:
    blocks, number = [], 10_000_000
    for ts, fee in rows:
        base = int(fee)
        for k, delta in enumerate((-1, 0, 2)):
            blocks.append(
                BlockHeader(
                    number=number,
                    hash=f"0x{number:064x}",
                    parent_hash=f"0x{number - 1:064x}",
                    timestamp=int(ts) + 1200 * k,
                    base_fee_per_gas=base + delta,
                    gas_limit=30_000_000,
                    gas_used=15_000_000,
                    sha3_uncles="0x" + "0" * 64,
                    miner="0x" + "0" * 40,
                    state_root="0x" + "0" * 64,
                    transactions_root="0x" + "0" * 64,
                    receipts_root="0x" + "0" * 64,
                    logs_bloom="0x" + "0" * 512,
                    difficulty=0,
                    extra_data="0x",
                    mix_hash="0x" + "0" * 64,
                    nonce="0x0000000000000000",
                )
            )
            number += 1
    BlockHeader.objects.bulk_create(blocks)


@pytest.fixture
def round_blocks(db):
    """Three blocks per hour with integer base fees around the real hourly average, so each hour's
    mean (and felt) is not an integer."""
    _insert_blocks(ROWS)


def test_a_reserve_price_without_the_rounds_history_is_priced_by_the_engine(db):
    _insert_blocks(ROWS[720:])  # only the 720 hours of its own range
    ranges = {m: (END - 720 * HOUR, END) for m in ("twap", "reserve_price", "max_return")}
    group, _ = proving_services.job_group_create(job_group_id=GROUP, ranges=ranges)
    job = group.jobs.get(metric="reserve_price")
    assert runner.job_run(job_id=job.pk).status == "succeeded", Job.objects.get(pk=job.pk).error_message
    assert Job.objects.get(pk=job.pk).result.get("rules", "engine") == "engine"


def _run_group():
    ranges = {
        "max_return": (END - 1440 * HOUR, END),
        "twap": (END - 720 * HOUR, END),
        "reserve_price": (END - 720 * HOUR, END),
    }
    group, _ = proving_services.job_group_create(job_group_id=GROUP, ranges=ranges)
    jobs = {job.metric: job for job in group.jobs.all()}
    for job in jobs.values():
        assert runner.job_run(job_id=job.pk).status == "succeeded", Job.objects.get(pk=job.pk).error_message
        proving_services.job_group_record_outcome(job_id=job.pk)
    group.refresh_from_db()
    return group, {m: Job.objects.get(pk=j.pk) for m, j in jobs.items()}


def test_a_vault_round_is_priced_by_the_programs_rules(round_blocks):
    group, jobs = _run_group()
    assert group.status == JobGroup.Status.COMPLETED
    assert {job.result["rules"] for job in jobs.values()} == {"pitchlake-coprocessor:poc"}
    felts = [(int(sum(int(f) + d for d in (-1, 0, 2))) << 128) // 3 for f in ROWS[:, 1]]
    assert float(jobs["max_return"].result["value"]) == round_max_return(values_from_felts(felts), _shape())
    reserve = jobs["reserve_price"].result
    assert reserve["num_paths"] >= 4000 and reserve["pass_probability"] >= 0.99
    assert group.result["verifiable_on_chain"] is False
    assert "attested" in group.result["not_verifiable_reason"]


def _shape():
    from handler.round_jobs import round_shape

    return round_shape()


def test_the_data_hash_is_recomputed_from_stored_blocks(round_blocks, capsys):
    group, _ = _run_group()
    call_command("data_commitment", "--group", GROUP)
    shown = json.loads(capsys.readouterr().out)
    assert shown["matches"] is True and shown["hours"] == 1440
    journal = CompositionJournal.decode(bytes.fromhex(group.result["composition_journal"][2:]))
    assert shown["data_commitment"] == [f"0x{w:08x}" for w in journal.data_8_months_hash]


@pytest.fixture
def bento_provider(settings, tmp_path, monkeypatch, v2_2_receipt_bytes):
    programs = {}
    for p in PROGRAMS:
        elf = tmp_path / f"{p}.elf"
        elf.write_bytes(stand_in_elf(p))
        programs[p] = {"image_id": IMAGE_IDS[p].hex(), "elf": str(elf)}
    manifest = tmp_path / "profile.json"
    # a deployed verifier that decodes the 16-field journal the composition program commits
    manifest.write_text(json.dumps({"name": "poc", "programs": programs, "verifier_journal": "composition"}))
    settings.COPROCESSOR_PROFILE = str(manifest)
    state = Bento(load_profile(str(manifest)).shape, IMAGE_IDS, parse_receipt(v2_2_receipt_bytes).verifier_parameters)
    with BentoServer(state) as bento:
        provider = build_provider(
            "bonsai",
            api_url=bento.api_url,
            api_key=bento.api_key,
            risc0_version="3.0.0",
            poll_interval=0.01,
            profile=load_profile(str(manifest)),
        )
        monkeypatch.setattr("handler.compute.get_provider", lambda: provider)
        monkeypatch.setattr("proving.composition.get_provider", lambda: provider)
        # No prover runs here, so the test server's seals are not proofs: only the pairing is stubbed.
        monkeypatch.setattr(
            groth16, "verify_seal", lambda seal, digest, engine="auto": groth16.version_for_selector(seal[:4])
        )
        yield bento
    django_glue.reset_caches()


@pytest.fixture
def v2_2_receipt_bytes() -> bytes:
    """A real receipt of verifier version V2_2, the selector the deployment pins."""
    return (VECTORS / "receipts" / "pitchlake_coprocessor_groth16_receipt.bin").read_bytes()


def test_with_the_verifier_at_the_coprocessors_commit_no_round_is_verifiable(round_blocks, bento_provider, settings):
    manifest = json.loads(open(settings.COPROCESSOR_PROFILE).read())
    manifest.pop("verifier_journal")
    with open(settings.COPROCESSOR_PROFILE, "w") as f:
        json.dump(manifest, f)
    load_profile.cache_clear()
    group, _ = _run_group()
    assert group.status == JobGroup.Status.COMPLETED and group.result["verifiable_on_chain"] is False
    assert "10-field journal" in group.result["not_verifiable_reason"]


def test_a_vault_round_through_bento_completes_with_one_composition_proof(round_blocks, bento_provider):
    group, jobs = _run_group()
    assert group.status == JobGroup.Status.COMPLETED
    assert group.result["verifiable_on_chain"] is True
    created = [program for program, _ in bento_provider.created]
    assert created.count(COMPOSITION) == 1 and len(created) == 10  # 7 + composition + twap + max return
    record = group.result["composition_proof"]
    assert record["image_id"] == "0x" + IMAGE_IDS[COMPOSITION].hex()
    journal = CompositionJournal.decode(bytes.fromhex(record["journal"][2:]))
    assert "0x" + journal.encode().hex() == group.result["composition_journal"]
    assert int(journal.twap_result, 16) == int(jobs["twap"].result["felt"], 16)
    assert int(journal.max_return, 16) == int(jobs["max_return"].result["felt"], 16)
    assert int(journal.reserve_price, 16) == int(jobs["reserve_price"].result["felt"], 16)
    assert (journal.max_return_start_timestamp, journal.max_return_end_timestamp) == (END - 1440 * HOUR, END)
    assert (journal.reserve_price_start_timestamp, journal.reserve_price_end_timestamp) == (END - 720 * HOUR, END)


def test_a_group_of_engine_jobs_says_it_is_not_a_vault_round():
    from proving.composition import _proved_round

    jobs = [
        Job(
            metric=metric,
            start_timestamp=END - 12 * HOUR,
            end_timestamp=END,
            result={"rules": "engine", "value": "1.0"},
        )
        for metric in ("twap", "max_return", "reserve_price")
    ]
    proof, reason = _proved_round(jobs, journal=None)  # type: ignore[arg-type]
    assert proof is None and "not a vault round" in reason
