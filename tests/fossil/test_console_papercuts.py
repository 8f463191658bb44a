"""The operator's first week (issue 23): the console lists newest first with every time in UTC,
has no dead "View site" link, answers errors with its own pages (the API with JSON), logs an
expected denial in one line, and the chart leaves room for its labels."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import timezone

from fossil import error_pages
from proving import services
from proving.chart import CHAR_WIDTH, ChartData, Mark, mark_label, render_svg, spread_labels
from proving.models import JobGroup

pytestmark = pytest.mark.django_db

RANGES = {metric: (1672531200, 1672538400) for metric in ("twap", "reserve_price", "max_return")}
A_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?(?! UTC)(?!:)")


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-1234"))
    return client


@pytest.fixture
def clerk(client, django_user_model):
    """Staff, but with no model permission."""
    client.force_login(django_user_model.objects.create_user("clerk", "c@example.com", "pw-clerk-1234", is_staff=True))
    return client


def test_every_list_is_newest_first():
    import fossil.urls  # noqa: F401  (registers the admins)

    admins = [m for m in admin.site._registry.values() if m.model._meta.app_label in ("proving", "offchain", "handler")]
    assert len(admins) >= 6
    for model_admin in admins:
        ordering = model_admin.get_ordering(None)
        assert ordering and ordering[0] in ("-created_at", "-number", "-is_current"), (model_admin, ordering)


def test_job_groups_list_newest_first_whatever_their_ids(staff):
    old, _ = services.job_group_create(job_group_id="f" * 64, ranges=RANGES)
    new, _ = services.job_group_create(job_group_id="0" * 64, ranges=RANGES)
    JobGroup.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    body = staff.get("/admin/proving/jobgroup/").content.decode()
    assert body.index("0" * 64) < body.index("f" * 64)


@pytest.mark.parametrize(
    "url", ["/admin/proving/jobgroup/", f"/admin/proving/jobgroup/{'c' * 64}/change/", "/admin/dashboard/"]
)
def test_every_time_shown_says_utc(staff, url):
    group, _ = services.job_group_create(job_group_id="c" * 64, ranges=RANGES)
    JobGroup.objects.filter(pk=group.pk).update(finished_at=timezone.now(), status="failed")
    body = staff.get(url).content.decode()
    shown = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?: UTC)?", body)
    assert shown, url
    assert [time for time in shown if not time.endswith("UTC")] == [], url


def test_no_view_site_link_but_the_operator_pages(staff):
    body = staff.get("/admin/").content.decode()
    assert "View site" not in body
    user_tools = body[body.index('id="user-tools"') :][:2000]
    assert 'href="/admin/dashboard/"' in user_tools and 'href="/api/docs"' in user_tools


def test_an_unknown_console_page_is_the_consoles_404(staff):
    response = staff.get("/admin/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "/static/admin/css/base.css" in body and 'id="header"' in body and "404" in body


def test_a_console_page_without_the_permission_is_the_consoles_403(clerk, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = clerk.get("/admin/proving/job/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "/static/admin/css/base.css" in body and 'id="header"' in body and "403" in body


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"status": "error", "code": "not_found", "message": response.json()["message"]}


@pytest.mark.parametrize(("path", "html"), [("/admin/proving/job/", True), ("/api/job", False)])
def test_server_errors_are_a_console_page_or_json(path, html):
    response = error_pages.server_error(RequestFactory().get(path))
    assert response.status_code == 500
    body = response.content.decode()
    if html:
        assert 'id="header"' in body and "/static/admin/css/base.css" in body
    else:
        assert json.loads(body)["code"] == "server_error" and "Traceback" not in body


def test_a_denial_is_logged_in_one_line_without_a_traceback(clerk):
    from fossil.log_context import ExpectedDenialFilter

    # what the configured console handler (settings.LOGGING) writes, not what a test handler sees
    (handler,) = [
        h for h in logging.getLogger().handlers if any(isinstance(f, ExpectedDenialFilter) for f in h.filters)
    ]
    written = io.StringIO()
    previous = handler.setStream(written)
    try:
        assert clerk.get("/admin/proving/job/").status_code == 403
    finally:
        handler.setStream(previous)
    logged = [line for line in written.getvalue().splitlines() if line.strip()]
    assert len(logged) == 1 and "Forbidden" in logged[0] and "/admin/proving/job/" in logged[0], logged


def test_a_server_error_keeps_its_traceback():
    from fossil.log_context import ExpectedDenialFilter

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), exc_info)
    record.status_code = 500
    ExpectedDenialFilter().filter(record)
    assert record.exc_info is exc_info


def test_mark_labels_get_the_room_they_need():
    marks = [Mark("cap (1.3 x strike)", 0.0001605, "#d62728"), Mark("reserve price", 0.0001235, "#9467bd")]
    data = ChartData("t", [0, 60, 120], [10.0, 12.0, 11.0], marks)
    svg = render_svg(data, width=900)
    x = float(re.search(r'class="mark-label" x="([\d.]+)"', svg).group(1))
    assert x + len(mark_label(marks[0])) * CHAR_WIDTH <= 900
    assert 'viewBox="0 0 900 360"' in svg and 'width="100%"' in svg


def test_labels_stacked_at_the_foot_stay_inside():
    placed = spread_labels([340.0, 341.0, 342.0, 343.0], low=11.0, high=356.0)
    assert placed[-1] <= 356.0 and all(b - a >= 13 for a, b in zip(placed, placed[1:]))
