"""The job group chart's title names the bucket size the jobs priced on, down to the short
rounds' one-block buckets (docs/pricing.md)."""

import pytest

from proving.chart import _bucket_label


@pytest.mark.parametrize(
    ("bucket", "label"),
    [(12, "12-second"), (60, "1-minute"), (90, "1.5-minute"), (300, "5-minute"), (3600, "1-hour"), (7200, "2-hour")],
)
def test_bucket_label(bucket, label):
    assert _bucket_label(bucket) == label
