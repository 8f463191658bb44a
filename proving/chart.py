"""The chart on a job group's admin page: the base-fee series its jobs priced, with the
TWAP, the strike, the cap and the reserve price marked. Rendered here as inline SVG, so
the console needs no script or CDN and works offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from handler.pricing.series import bucket_seconds_for
from handler.pricing.simulate import CAP
from handler.selectors import bucket_averages
from proving.models import Job, JobGroup

WEI_PER_GWEI = 1e9
MAX_POINTS = 600  # a point per pixel or so; longer series are averaged down


@dataclass(frozen=True)
class Mark:
    label: str
    gwei: float
    color: str


@dataclass(frozen=True)
class ChartData:
    title: str
    timestamps: list[int]
    gwei: list[float]
    marks: list[Mark]


def _downsample(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    out = []
    for i in range(MAX_POINTS):
        chunk = points[int(i * step) : int((i + 1) * step)] or points[int(i * step) : int(i * step) + 1]
        out.append((chunk[0][0], sum(value for _, value in chunk) / len(chunk)))
    return out


def _value(job: Job | None, key: str = "value") -> float | None:
    if job is None or not job.result or job.result.get(key) is None:
        return None
    try:
        return float(job.result[key])
    except (TypeError, ValueError):
        return None


def job_group_chart_data(group: JobGroup) -> ChartData | None:
    """The series of the group's widest job range (bucketed as its job priced it), and the
    marks its finished jobs give; None if the range holds no block."""
    jobs = {job.metric: job for job in group.jobs.all()}
    if not jobs:
        return None
    widest = max(jobs.values(), key=lambda job: job.end_timestamp - job.start_timestamp)
    bucket = int(
        (widest.result or {}).get("bucket_seconds") or bucket_seconds_for(widest.start_timestamp, widest.end_timestamp)
    )
    rows = bucket_averages(widest.start_timestamp, widest.end_timestamp, bucket)
    if not rows:
        return None
    points = _downsample([(ts, avg / WEI_PER_GWEI) for ts, avg, _count in rows])
    marks = []
    twap = _value(jobs.get(Job.Metric.TWAP))
    strike = _value(jobs.get(Job.Metric.RESERVE_PRICE), "strike")
    reserve = _value(jobs.get(Job.Metric.RESERVE_PRICE))
    if twap is not None:
        marks.append(Mark("TWAP", twap / WEI_PER_GWEI, "#1f77b4"))
    if strike is not None:
        marks.append(Mark("strike", strike / WEI_PER_GWEI, "#2ca02c"))
        marks.append(Mark(f"cap ({1 + CAP:g} x strike)", (1 + CAP) * strike / WEI_PER_GWEI, "#d62728"))
    if reserve is not None:
        marks.append(Mark("reserve price", reserve / WEI_PER_GWEI, "#9467bd"))
    title = f"base fee, {_bucket_label(bucket)} averages ({widest.metric} range)"
    return ChartData(title, [ts for ts, _ in points], [value for _, value in points], marks)


def _bucket_label(bucket: int) -> str:
    """12 -> "12-second", 90 -> "1.5-minute", 3600 -> "1-hour" (short rounds use short buckets)."""
    if bucket % 3600 == 0:
        return f"{bucket // 3600}-hour"
    if bucket >= 60:
        return f"{bucket / 60:g}-minute"
    return f"{bucket}-second"


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


# Width of a label in the chart's font (11 px sans-serif), an upper bound: digits and lower-case
# letters are about 0.55 em wide, so 0.62 em per character keeps a margin for wider glyphs.
CHAR_WIDTH = 11 * 0.62
LABEL_GAP = 13  # vertical distance between two mark labels


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def spread_labels(wanted: list[float], low: float, high: float, gap: float = LABEL_GAP) -> list[float]:
    """Baselines for labels wanted at `wanted` (top to bottom): at least `gap` apart and
    inside [low, high], moved as little as that allows."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, low, placed[-1] + gap if placed else low))
    for i in range(len(placed) - 1, -1, -1):  # pushed past the bottom: move the lowest ones up
        ceiling = high if i == len(placed) - 1 else placed[i + 1] - gap
        placed[i] = min(placed[i], ceiling)
    return placed


def mark_label(mark: Mark) -> str:
    return f"{mark.label} {mark.gwei:.4g}"


def render_svg(data: ChartData, *, width: int = 900, height: int = 360) -> str:
    """A line chart with horizontal marks; every number and label is escaped text.

    The right margin is as wide as the longest mark label, and the SVG scales down with its
    container (viewBox, width 100%, at most `width` px), so no label is cut off at any width."""
    labels = {mark.label: mark_label(mark) for mark in data.marks}
    longest = max((text_width(text) for text in labels.values()), default=0.0)
    left, right, top, bottom = 70, int(longest) + 16, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = data.gwei + [mark.gwei for mark in data.marks]
    low, high = min(values), max(values)
    if high == low:
        high, low = high + 1, max(0.0, low - 1)
    pad = (high - low) * 0.05
    low, high = max(0.0, low - pad), high + pad
    t0, t1 = data.timestamps[0], data.timestamps[-1]
    span = max(1, t1 - t0)

    def x(ts: int) -> float:
        return left + (ts - t0) / span * plot_w

    def y(gwei: float) -> float:
        return top + (high - gwei) / (high - low) * plot_h

    line = " ".join(f"{x(ts):.1f},{y(v):.1f}" for ts, v in zip(data.timestamps, data.gwei))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fossil-chart" role="img" width="100%" '
        f'viewBox="0 0 {width} {height}" style="max-width: {width}px; height: auto; display: block" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(data.title)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#ccc"/>',
        f'<text x="{left}" y="{top - 10}" font-size="13">{escape(data.title)}</text>',
    ]
    for i in range(5):  # y grid and labels
        value = low + (high - low) * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.0f}" transform="rotate(-90 14 {top + plot_h / 2:.0f})" '
        'text-anchor="middle">gwei</text>'
    )
    for ts, anchor in ((t0, "start"), (t1, "end")):
        parts.append(
            f'<text x="{x(ts):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}">{escape(_utc(ts))} UTC</text>'
        )
    parts.append(f'<polyline class="series" fill="none" stroke="#555" stroke-width="1.2" points="{line}"/>')
    marks = sorted(data.marks, key=lambda mark: -mark.gwei)  # top to bottom
    baselines = spread_labels([y(mark.gwei) + 4 for mark in marks], low=11.0, high=height - 4.0)
    for mark, baseline in zip(marks, baselines):
        parts.append(
            f'<line class="mark" data-mark="{escape(mark.label)}" x1="{left}" x2="{left + plot_w}" '
            f'y1="{y(mark.gwei):.1f}" y2="{y(mark.gwei):.1f}" stroke="{mark.color}" '
            'stroke-width="1.5" stroke-dasharray="6 3"/>'
        )
        parts.append(
            f'<text class="mark-label" x="{left + plot_w + 6}" y="{baseline:.1f}" fill="{mark.color}">'
            f"{escape(labels[mark.label])}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
