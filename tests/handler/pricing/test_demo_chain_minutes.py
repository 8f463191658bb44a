"""Reserve price on the demo chain: the README's 12-hour minute-bucket range (as the e2e run seeds
it and as a bare generator call builds it), 6-hour and 2-day variants, and 30 days hourly.

For each: no overflow warning, the price strictly inside (0, 0.3 K e^-0.05), the model the rules
pick (the jump model with ``gradient_ok`` for 30 days hourly, the named log-normal fallback for
minute buckets), and the attested provider's checks (``handler.proofs.checks``) accept the same
claims. Needs Django
settings only (pytest-django's ``settings`` fixture when the plugin is active), never the database.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

START, END = 1672531200, 1672574400  # docs/example_request.json: 12 hours

CASES = {
    # the e2e test seeds a day before the window (the demo base fee depends on where generation starts)
    "e2e_12h": (START - 86400, END + 3600, START, END),
    "readme_12h": (START - 60, END + 60, START, END),
    "minute_6h": (START - 60, START + 6 * 3600 + 60, START, START + 6 * 3600),
    "minute_2d": (START - 60, START + 2 * 86400 + 60, START, START + 2 * 86400),
    "hourly_30d": (START - 30 * 86400, START, START - 30 * 86400, START),
}


@pytest.fixture(autouse=True)
def _django_settings(request):
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings")


def _series(case):
    from handler import pricing
    from handler.chain.demo import generate_chain

    gen_start, gen_end, start, end = CASES[case]
    headers = list(generate_chain(gen_start, gen_end))
    ts = np.array([h["timestamp"] for h in headers], dtype=np.int64)
    fees = np.array([int(h["base_fee_per_gas"]) for h in headers], dtype=object)
    return pricing.bucketize(ts, fees, start, end)


@pytest.mark.parametrize("case", sorted(CASES))
def test_demo_chain_reserve_price_passes_the_attested_checks(case):
    from handler.metrics import compute_metric
    from handler.pricing.simulate import CAP, DISCOUNT
    from handler.proofs import checks
    from handler.proofs.records import ProofInputs

    series = _series(case)
    assert series.bucket_seconds == (3600 if case.startswith("hourly") else 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        outcome = compute_metric("reserve_price", series, num_paths=15000)
        claims = outcome.claims
        if case.startswith("hourly"):
            assert claims["model"] == "mrj" and claims["model_reason"] == ""
            assert claims["gradient_ok"], (claims["gradient"], claims["params"], claims["optimizer"])
        else:
            assert claims["model"] == "lognormal" and "60s buckets" in claims["model_reason"]
            assert outcome.result["model"] == "lognormal" and outcome.result["model_reason"]
        assert 0.0 < outcome.value < CAP * claims["strike"] * DISCOUNT
        assert claims["standard_error"] > 0
        inputs = ProofInputs(
            job_id="1",
            metric="reserve_price",
            window_start=int(series.timestamps[0]),
            window_end=int(series.timestamps[-1]) + series.bucket_seconds,
            value=outcome.value,
            data_commitment=tuple(outcome.result["data_commitment"]),
            series_timestamps=tuple(int(t) for t in series.timestamps),
            series_values=tuple(float(v) for v in series.values),
            claims=claims,
        )
        checked = checks.check_metric(inputs)
    assert all(c["passed"] for c in checked)
    if claims["model"] == "mrj":
        gradient_check = next(c for c in checked if c["name"] == "gradient")
        assert str(claims["gradient"][0]) in gradient_check["detail"]  # the verifier computed the same gradient
    else:
        assert [c["name"] for c in checked] == ["model", "reserve_price", "twap"]
