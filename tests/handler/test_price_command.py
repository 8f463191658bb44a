"""The ``price`` command's contract: JSON shape, exit status 2 with one stderr line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "data"
MAX_RETURN_CSV = VECTORS / "max_return_input_hourly_avg_base_fee.csv"
DATASET_A_CSV = VECTORS / "first_period_hourly_avg_base_fee.csv"


def run_json(*args) -> dict:
    out = StringIO()
    call_command("price", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "manage.py", "price", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_max_return_json_and_commitment():
    report = run_json("--series", str(MAX_RETURN_CSV), "--metric", "max_return")
    assert report["max_return"]["value"] == "1.544626972559826"
    assert float(report["max_return"]["value"]) == 1.544626972559826
    assert report["max_return"]["hex"] == "0x" + format((1 << 128) | int((1.544626972559826 - 1) * 2.0**128), "064x")
    assert len(report["data_commitment"]) == 8 and all(0 <= w < 2**32 for w in report["data_commitment"])
    assert "twap" not in report and "reserve_price" not in report


def test_commitment_omitted_when_rows_not_multiple_of_180():
    report = run_json("--series", str(DATASET_A_CSV), "--metric", "twap")
    assert report["rows"] == 2184 and report["data_commitment"] is None
    hexval = report["twap"]["hex"]
    assert len(hexval) == 66 and hexval == hexval.lower() and hexval.startswith("0x")


def test_felt_input_commits_to_the_given_felts(tmp_path):
    felt = "0x6322CF2B00000000000000000000000000000000"
    path = tmp_path / "felts.csv"
    path.write_text("timestamp,base_fee\n" + "".join(f"{1663221600 + 3600 * i},{felt}\n" for i in range(180)))
    report = run_json("--series", str(path), "--metric", "twap")
    hashing = json.loads((VECTORS / "hashing_vectors.json").read_text())["vectors"][0]
    from handler.pricing.commitment import data_commitment

    assert report["data_commitment"] == data_commitment([int(felt, 16)] * 180)
    assert float(report["twap"]["value"]) == float(0x6322CF2B)
    assert hashing["input"]["felt_hex"] == felt


def test_reserve_price_json_fields_and_seed_reproducible():
    args = ("--series", str(DATASET_A_CSV), "--metric", "reserve_price", "--paths", "2000", "--seed", "5")
    a, b = run_json(*args), run_json(*args)
    r = a["reserve_price"]
    assert a == b and r["seed"] == 5 and r["num_paths"] == 2000
    assert set(r["params"]) == {"a", "phi", "mu_j", "sigma_sq", "sigma_sq_j", "lambda"}
    assert r["model"] == "mrj" and r["model_reason"] == "" and r["gradient_ok"]
    assert len(r["gradient"]) == 6 and max(abs(g) for g in r["gradient"]) <= 0.05
    assert float(r["standard_error"]) > 0 and len(r["hex"]) == 66


def test_human_table():
    out = StringIO()
    call_command("price", "--series", str(MAX_RETURN_CSV), "--metric", "max_return", stdout=out)
    assert "1.544626972559826" in out.getvalue()


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


GOOD_ROWS = "".join(f"{1663221600 + 3600 * i},{1e9 + i}\n" for i in range(200))  # 200 hours: hourly buckets
MS_ROWS = "".join(f"{1663221600000 + 3600_000 * i},{1e9 + i}\n" for i in range(200))
MINUTE_ROWS_8_DAYS = "".join(f"{1663221600 + 60 * i},{1e9 + i}\n" for i in range(8 * 1440))
HOURLY_ROWS_2_DAYS = "".join(f"{1663221600 + 3600 * i},{1e9 + i}\n" for i in range(48))
BLOCK_ROWS = "".join(f"{1663221600 + 12 * i},{1e9 + 1e7 * (i % 5)}\n" for i in range(23))  # 1.5-minute round x 3


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "not found"),
        ("time,fee\n" + GOOD_ROWS, "expected columns"),
        ("timestamp,base_fee\n" + GOOD_ROWS.replace(",1000000005.0", ",0"), "non-positive"),
        ("timestamp,base_fee\n" + GOOD_ROWS.replace(",1000000005.0", ",-3"), "non-positive"),
        (
            "timestamp,base_fee\n" + "".join(ln for k, ln in enumerate(GOOD_ROWS.splitlines(True)) if k != 7),
            "missing bucket 2022-09-15T13:00:00Z",
        ),
        ("timestamp,base_fee\n" + GOOD_ROWS.replace(",1000000005.0", ",abc"), "neither decimal"),
        ("timestamp,base_fee\n", "no rows"),
        ("timestamp,base_fee\n" + MS_ROWS, "timestamp 1663221600000 is not unix seconds (milliseconds?)"),
        ("timestamp,base_fee\n" + MINUTE_ROWS_8_DAYS, "bucket spacing 60s, but a range of 8 days is priced on 3600s"),
        ("timestamp,base_fee\n" + HOURLY_ROWS_2_DAYS, "bucket spacing 3600s, but a range of 2 days is priced on 60s"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, content, fragment):
    path = tmp_path / "absent.csv" if content is None else _write(tmp_path, content)
    proc = run_cli("--series", path, "--metric", "twap")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def test_block_buckets_price_every_metric_with_the_named_model(tmp_path):
    report = run_json("--series", str(_write(tmp_path, "timestamp,base_fee\n" + BLOCK_ROWS)), "--paths", "2000")
    assert report["bucket_seconds"] == 12 and report["rows"] == 23
    assert (report["max_return"]["window"], report["max_return"]["period"]) == (7, 7)
    rp = report["reserve_price"]
    assert rp["model"] == "lognormal" and "12s buckets" in rp["model_reason"]
    assert 0 < float(rp["value"]) < 0.3 * float(rp["strike"]["value"])


def test_too_short_for_metric_exits_2(tmp_path):
    path = _write(tmp_path, "timestamp,base_fee\n" + "".join(BLOCK_ROWS.splitlines(True)[:10]))
    proc = run_cli("--series", path, "--metric", "max_return")
    assert proc.returncode == 2 and "at least 16 points" in proc.stderr


def test_cli_json_max_return():
    proc = run_cli("--series", MAX_RETURN_CSV, "--metric", "max_return", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["max_return"]["value"] == "1.544626972559826"


def test_price_starts_without_celery_boto3_or_the_web_stack():
    # INSTALLED_APPS load rest_framework's and drf_spectacular's app configs only; not their views.
    probe = (
        "import sys\n"
        "from django.core.management import execute_from_command_line\n"
        "try:\n"
        "    execute_from_command_line(['manage.py', 'price', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('celery', 'kombu', 'boto3', 'botocore', 'requests',\n"
        "         'rest_framework.views', 'drf_spectacular.openapi')\n"
        "loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "print('LOADED', loaded)\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "fossil.settings", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert "LOADED []" in done.stdout, done.stdout[-500:] + done.stderr[-2000:]
