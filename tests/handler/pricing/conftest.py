from __future__ import annotations

import json
from pathlib import Path

import pytest

from handler.pricing.csvio import read_series_csv

REPO_ROOT = Path(__file__).resolve().parents[3]
PRICING_VECTORS = REPO_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def pricing_vectors() -> Path:
    assert PRICING_VECTORS.is_dir(), f"test data not found at {PRICING_VECTORS}"
    return PRICING_VECTORS


@pytest.fixture(scope="session")
def dataset_a(pricing_vectors):
    return read_series_csv(pricing_vectors / "first_period_hourly_avg_base_fee.csv")


@pytest.fixture(scope="session")
def max_return_input(pricing_vectors):
    return read_series_csv(pricing_vectors / "max_return_input_hourly_avg_base_fee.csv")


@pytest.fixture(scope="session")
def load_vector(pricing_vectors):
    def load(name: str) -> dict:
        return json.loads((pricing_vectors / name).read_text())

    return load


@pytest.fixture(scope="session")
def dataset_a_result(dataset_a):
    from handler.pricing import reserve_price

    return reserve_price(dataset_a.values, dataset_a.timestamps)
