"""``manage.py data_commitment``: the data hash a vault round commits to, recomputed from stored blocks.

    python manage.py data_commitment --group JOB_ID
    python manage.py data_commitment --start S --end E

The hourly felts of the range (each hour's mean base fee ``sum / count`` as an exact
UFixedPoint123x128 felt), hashed as the hashing program hashes them (batches of 180 felts,
SHA-256 of the batch digests; docs/proofs.md). With ``--group`` the range is the round's
(the max-return job's) and the hash is compared with the one in the group's composition journal.

Exit 0 when it matches (or with --start/--end), 1 when it does not, 2 for unusable arguments.
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

from fossil.commands import FossilCommand
from handler.pricing import PricingError
from handler.pricing.commitment import data_commitment
from handler.proofs.coprocessor.journals import CompositionJournal
from handler.round_jobs import stored_felts
from proving.models import Job, JobGroup


def _fail(status: int, line: str) -> NoReturn:
    sys.stderr.write(f"data_commitment: {line}\n")
    raise SystemExit(status)


class Command(FossilCommand):
    help = "Recompute a round's data hash from stored blocks (and compare it with a group's journal)."

    def add_arguments(self, parser):
        parser.add_argument("--group", help="a completed job group's id")
        parser.add_argument("--start", type=int, help="range start (unix seconds, a full hour)")
        parser.add_argument("--end", type=int, help="range end (unix seconds, a full hour)")

    def handle(self, *args, group=None, start=None, end=None, **options):
        journal_hash = None
        if group:
            if start is not None or end is not None:
                _fail(2, "--group and --start/--end exclude each other")
            job = Job.objects.filter(group_id=group, metric="max_return").first()
            if job is None:
                _fail(2, f"--group: no job group {group!r} with a max-return job")
            start, end = job.start_timestamp, job.end_timestamp
            result = JobGroup.objects.filter(pk=group).values_list("result", flat=True).first() or {}
            if result.get("composition_journal"):
                journal = CompositionJournal.decode(bytes.fromhex(result["composition_journal"][2:]))
                journal_hash = list(journal.data_8_months_hash)
        elif start is None or end is None:
            _fail(2, "give --group, or both --start and --end")
        if start % 3600 or end % 3600 or start >= end:
            _fail(2, "--start and --end must be full UTC hours, start before end")
        try:
            felts = stored_felts(start, end)
        except PricingError as exc:
            _fail(2, str(exc))
        words = data_commitment(felts)
        out = {"start": start, "end": end, "hours": len(felts), "data_commitment": [f"0x{w:08x}" for w in words]}
        if journal_hash is not None:
            out["journal_data_commitment"] = [f"0x{w:08x}" for w in journal_hash]
            out["matches"] = journal_hash == words
        self.stdout.write(json.dumps(out, indent=2))
        if journal_hash is not None and journal_hash != words:
            sys.stderr.write("data_commitment: the recomputed hash differs from the group's journal\n")
            raise SystemExit(1)
