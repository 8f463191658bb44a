"""``manage.py round_inputs``: the eight inputs of a vault round as the coprocessor's programs read them.

    python manage.py round_inputs (--end T | --group JOB_ID | --series FILE.csv) --out DIR

``--end`` prices the round ending at T (unix seconds, a full hour) from stored blocks, ``--group``
the round of a stored job group, ``--series`` a CSV of ``timestamp,base_fee`` (decimal wei or
0x felts, the profile's number of hours). For each program DIR gets ``<program>.bin`` (RISC Zero
serde words, little-endian: what the host writes with ``ExecutorEnv::builder().write``) and
``<program>.json``; ``round.json`` has the round's summary. Then every program's check runs on
its input and prints one line each (docs/proofs.md, "Checking a round by hand").

Exit 0 when every check passes, 1 when one fails (its line names the program and the field), 2
for unusable arguments (one line on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

from fossil.commands import FossilCommand
from handler.pricing import PricingError
from handler.pricing.commitment import data_commitment
from handler.pricing.csvio import read_series_csv
from handler.pricing.vault import HOUR, price_round, values_from_felts
from handler.proofs.coprocessor.checks import precheck_round
from handler.proofs.coprocessor.inputs import build_round_inputs
from handler.round_jobs import round_seed, round_shape, stored_round
from proving.models import Job


def _fail(status: int, line: str) -> NoReturn:
    sys.stderr.write(f"round_inputs: {line}\n")
    raise SystemExit(status)


def _struct_json(struct) -> dict:
    out = struct.to_json()
    for key, value in out.items():
        if isinstance(value, tuple) and value and isinstance(value[0], int) and value[0] >= 1 << 64:
            out[key] = [f"0x{v:064x}" for v in value]  # felts
    return out


class Command(FossilCommand):
    help = "Write a vault round's eight program inputs (serde .bin and JSON) and run each program's check."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--end", type=int, help="the round's end (unix seconds, a full UTC hour)")
        source.add_argument("--group", help="a stored job group's id (its reserve-price job's end)")
        source.add_argument("--series", help="CSV of timestamp,base_fee over the round's hours")
        parser.add_argument("--out", required=True, help="directory to write the inputs to")

    def _round(self, options):
        shape = round_shape()
        if options["series"]:
            series = read_series_csv(options["series"])
            if series.bucket_seconds != HOUR or len(series.felts) != shape.total_hours:
                raise PricingError(f"--series: needs {shape.total_hours} hourly rows, got {len(series.felts)}")
            end = int(series.timestamps[-1]) + HOUR
            felts = list(series.felts)
            vault_round = price_round(
                values_from_felts(felts), end_timestamp=end, shape=shape, seed=round_seed(data_commitment(felts), shape)
            )
            return felts, vault_round
        end = options["end"]
        if options["group"]:
            job = Job.objects.filter(group_id=options["group"], metric="reserve_price").first()
            if job is None:
                _fail(2, f"--group: no job group {options['group']!r} with a reserve-price job")
            end = job.end_timestamp
        return stored_round(int(end))

    def handle(self, *args, **options):
        try:
            felts, vault_round = self._round(options)
        except PricingError as exc:
            _fail(2, str(exc).replace("\n", " "))
        out = Path(options["out"])
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _fail(2, f"--out: cannot create {out}: {exc.strerror}")
        inputs = build_round_inputs(vault_round, felts)
        for program, struct in inputs.by_program.items():
            (out / f"{program}.bin").write_bytes(struct.encode())
            (out / f"{program}.json").write_text(json.dumps(_struct_json(struct), indent=1))
        summary = {
            "start_timestamp": vault_round.start_timestamp,
            "end_timestamp": vault_round.end_timestamp,
            "twap": vault_round.twap,
            "max_return": vault_round.max_return,
            "reserve_price": vault_round.reserve_price,
            "data_commitment": [f"0x{w:08x}" for w in data_commitment(felts)],
            **vault_round.summary(),
        }
        (out / "round.json").write_text(json.dumps(summary, indent=1))
        failed = False
        for result in precheck_round(inputs, vault_round.shape):
            failed |= not result.ok
            mark = "ok  " if result.ok else "FAIL"
            self.stdout.write(f"{mark} {result.program}{': ' + result.detail if result.detail else ''}")
        self.stdout.write(f"wrote {len(inputs.by_program)} inputs to {out}")
        if failed:
            raise SystemExit(1)
