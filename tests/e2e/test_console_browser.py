"""The operator console in a real headless browser (Debian's chromium + chromedriver via
Selenium) against a live server and a real worker process: log in, retry a failed
request's jobs from the admin, watch its group complete with the chart on its page, and
see the client's /job_status follow. Screenshots go to <run dir>/artifacts/."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command

from proving.models import Job
from tests.conftest import EXAMPLE_REQUEST, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1100",
)
EXAMPLE_START, EXAMPLE_END = EXAMPLE_REQUEST["params"]["twap"]


def browser_or_skip():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if not missing:
        return
    reason = f"{', '.join(missing)} missing: `make test` installs chromium and chromium-driver when run as root"
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail(reason)  # CI and root can install it: never skip silently there
    pytest.skip(reason + " (not root, not CI)")


@pytest.fixture
def browser():
    browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="fossil-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def artifacts() -> Path:
    path = Path(settings.RUN_DIR) / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_status(live_server, key, job_id) -> dict:
    return requests.get(f"{live_server.url}/job_status/{job_id}", headers={"X-API-Key": key}, timeout=30).json()


def test_retry_from_the_console_completes_the_group_and_reaches_the_client(
    live_server, celery_worker, api_key, browser, artifacts, django_user_model
):
    from selenium.webdriver.common.by import By

    # A request over an empty block table fails (missing data); the operator then loads the chain.
    response = requests.post(
        f"{live_server.url}/pricing_data", json=EXAMPLE_REQUEST, headers={"X-API-Key": api_key}, timeout=30
    )
    job_id = response.json()["job_id"]
    wait_until(lambda: job_status(live_server, api_key, job_id)["status"] == "Failed", timeout=90, what="failure")
    # the group fails with its first failed job: let the other two fail too before the chain is loaded
    unfinished = Job.objects.filter(group_id=job_id, status__in=[Job.Status.PENDING, Job.Status.RUNNING])
    wait_until(lambda: not unfinished.exists(), timeout=90, what="every job of the group to finish")
    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))
    django_user_model.objects.create_superuser("operator", "ops@example.com", "a-long-operator-password")

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("a-long-operator-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.save_screenshot(str(artifacts / "console-after-login.png"))
    wait_until(lambda: browser.find_elements(By.ID, "operator-links"), timeout=30, what="the admin index")
    # styled: the admin stylesheet was served and applied (the header has its dark background)
    header = browser.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")

    # the failed jobs, filtered; select all and run the confirmed retry action
    browser.get(f"{live_server.url}/admin/proving/job/?status__exact=failed&q={job_id}")
    # the rows, once the list is on screen (a get can return before chromium has laid the page out)
    wait_until(
        lambda: len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 3,
        timeout=30,
        what="the three failed jobs in the list",
    )
    browser.find_element(By.ID, "action-toggle").click()
    browser.find_element(By.CSS_SELECTOR, "select[name=action] option[value=retry_failed_jobs]").click()
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    wait_until(lambda: "Yes, go ahead" in browser.page_source, timeout=30, what="the confirmation page")
    browser.save_screenshot(str(artifacts / "console-retry-confirm.png"))
    browser.find_element(By.ID, "confirm-action").click()
    wait_until(lambda: "done for 3 row" in browser.page_source, timeout=30, what="the action's message")

    # watch the group complete on its page, with the chart and all four marks
    group_url = f"{live_server.url}/admin/proving/jobgroup/{job_id}/change/"

    def completed_with_chart():
        browser.get(group_url)
        source = browser.page_source
        return (
            "completed" in browser.find_element(By.CSS_SELECTOR, ".field-status").text.lower()
            and "fossil-chart" in source
        )

    wait_until(completed_with_chart, timeout=180, interval=2, what="the group to complete in the console")
    chart = browser.find_element(By.CSS_SELECTOR, "svg.fossil-chart")
    marks = {line.get_attribute("data-mark") for line in chart.find_elements(By.CSS_SELECTOR, "line.mark")}
    assert marks == {"TWAP", "strike", "cap (1.3 x strike)", "reserve price"}
    assert chart.size["width"] > 600 and chart.size["height"] > 300
    browser.execute_script("arguments[0].scrollIntoView()", chart)
    browser.save_screenshot(str(artifacts / "console-group-chart.png"))

    # and the client sees it within seconds
    body = wait_until(
        lambda: (answer := job_status(live_server, api_key, job_id))["status"] == "Completed" and answer,
        timeout=30,
        what="/job_status to show Completed",
    )
    assert set(body["results"]) == {"twap", "reserve_price", "max_return"}

    browser.get(f"{live_server.url}/admin/dashboard/")
    wait_until(lambda: "Job latency" in browser.page_source, timeout=30, what="the dashboard")
    browser.save_screenshot(str(artifacts / "console-dashboard.png"))


def test_api_docs_render_offline_in_the_browser(live_server, browser, artifacts):
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/api/docs")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), timeout=30, what="Swagger UI")
    assert "/pricing_data" in browser.page_source
    browser.save_screenshot(str(artifacts / "api-docs.png"))
    browser.get(f"{live_server.url}/api/redoc")
    wait_until(
        lambda: "pricing_data" in browser.page_source and browser.find_elements(By.CSS_SELECTOR, "h1"),
        timeout=30,
        what="Redoc",
    )
    browser.save_screenshot(str(artifacts / "api-redoc.png"))


# --- the console at common widths (issue 23): the chart fits, error pages are styled ---------

CONSOLE_WIDTHS = (1280, 1400, 1920)
RANGES = {metric: (EXAMPLE_START, EXAMPLE_END) for metric in ("twap", "reserve_price", "max_return")}

# Everything of the chart a reader would miss if cut off: each text element must lie inside the
# SVG (an inline SVG clips what falls outside its box), inside every ancestor that clips, and
# inside the window; and the page must not scroll sideways.
CLIPPED_CHART_TEXT = """
const svg = arguments[0];
const problems = [];
const viewport = document.documentElement.clientWidth;
const box = svg.getBoundingClientRect();
const clippers = [];
for (let el = svg.parentElement; el; el = el.parentElement) {
  const style = getComputedStyle(el);
  if (style.overflowX !== 'visible' || style.overflowY !== 'visible') clippers.push(el);
}
for (const text of svg.querySelectorAll('text')) {
  const r = text.getBoundingClientRect();
  const label = text.textContent.trim();
  if (r.width === 0) problems.push('not rendered: ' + label);
  if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
    problems.push('outside the chart: ' + label);
  if (r.left < -0.5 || r.right > viewport + 0.5) problems.push('outside the window: ' + label);
  for (const el of clippers) {
    const a = el.getBoundingClientRect();
    if (r.left < a.left - 0.5 || r.right > a.right + 0.5) problems.push('cut by ' + el.tagName + ': ' + label);
  }
}
if (document.documentElement.scrollWidth > viewport + 1) problems.push('the page scrolls sideways');
return problems;
"""


def unstyled_reasons(browser) -> list[str]:
    """Why the page on screen is not a console page in the console's style (empty if it is)."""
    from selenium.webdriver.common.by import By

    reasons = []
    headers = browser.find_elements(By.ID, "header")
    if not headers:
        return ["no console header (a bare error page)"]
    if headers[0].value_of_css_property("background-color") in ("rgba(0, 0, 0, 0)", "transparent"):
        reasons.append("the header has no background: the console stylesheet is not applied")
    font = browser.find_element(By.TAG_NAME, "body").value_of_css_property("font-family").lower()
    if "times" in font or font.strip('"') == "serif":
        reasons.append(f"the page is in the browser's default font ({font})")
    if not browser.find_elements(By.CSS_SELECTOR, f"a[href='{reverse_lazy_admin_index()}']"):
        reasons.append("no way back to the console")
    return reasons


def reverse_lazy_admin_index() -> str:
    from django.urls import reverse

    return reverse("admin:index")


def log_in(browser, live_server, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_until(lambda: "/admin/login/" not in browser.current_url, timeout=30, what="the login")


@pytest.fixture
def completed_group():
    from proving import services
    from proving.models import JobGroup
    from proving.runner import job_run

    call_command("seed_demo_chain", "--start", str(EXAMPLE_START - 86400), "--end", str(EXAMPLE_END + 3600))
    group, _ = services.job_group_create(job_group_id="e" * 64, ranges=RANGES)
    for job in Job.objects.filter(group=group):
        assert job_run(job_id=job.pk).status == "succeeded"
    assert services.job_group_record_outcome(job_id=job.pk) == "completed"
    # Tiny values (in gwei) give the longest labels .4g writes ("cap (1.3 x strike) 0.0001605"),
    # and four marks at the foot of the chart stack their labels downwards: the hardest case for
    # the right-hand labels, in width and in height.
    for job in Job.objects.filter(group=group, metric__in=["twap", "reserve_price"]):
        Job.objects.filter(pk=job.pk).update(result={**job.result, "value": "123456.7", "strike": 123456.7})
    return JobGroup.objects.get(pk=group.pk)


@pytest.mark.parametrize("width", CONSOLE_WIDTHS)
def test_the_console_fits_and_its_errors_are_styled_at(
    width, live_server, browser, artifacts, completed_group, django_user_model
):
    from selenium.webdriver.common.by import By

    browser.set_window_size(width, 1100)
    django_user_model.objects.create_superuser("operator", "ops@example.com", "a-long-operator-password")
    log_in(browser, live_server, "operator", "a-long-operator-password")
    assert not [a for a in browser.find_elements(By.CSS_SELECTOR, "#user-tools a") if a.text == "View site"]

    # newest first, times in UTC
    browser.get(f"{live_server.url}/admin/proving/jobgroup/")
    created = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr td.field-created_at").text
    assert created.endswith("UTC"), created

    # the chart: every label whole at this width
    browser.get(f"{live_server.url}/admin/proving/jobgroup/{completed_group.pk}/change/")
    chart = browser.find_element(By.CSS_SELECTOR, "svg.fossil-chart")
    browser.execute_script("arguments[0].scrollIntoView()", chart)
    browser.save_screenshot(str(artifacts / f"console-chart-{width}.png"))
    assert {text.text.split(" ")[0] for text in chart.find_elements(By.CSS_SELECTOR, "text.mark-label")} == {
        "TWAP",
        "strike",
        "cap",
        "reserve",
    }
    assert browser.execute_script(CLIPPED_CHART_TEXT, chart) == []
    assert chart.size["width"] > 500

    # a console address that does not exist: the console's own 404 page
    browser.get(f"{live_server.url}/admin/no-such-page/")
    browser.save_screenshot(str(artifacts / f"console-404-{width}.png"))
    assert unstyled_reasons(browser) == []
    assert "404" in browser.find_element(By.TAG_NAME, "h1").text

    # a staff account without the permission: the console's own 403 page
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "a-long-clerk-password")
    clerk.is_staff = True
    clerk.save()
    browser.delete_all_cookies()
    log_in(browser, live_server, "clerk", "a-long-clerk-password")

    def dashboard_shown() -> bool:  # any staff may see the dashboard
        browser.get(f"{live_server.url}/admin/dashboard/")
        return "Job latency" in browser.page_source

    wait_until(dashboard_shown, timeout=30, interval=1, what="the dashboard for a staff account")
    browser.get(f"{live_server.url}/admin/proving/job/")
    browser.save_screenshot(str(artifacts / f"console-403-{width}.png"))
    assert unstyled_reasons(browser) == []
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text

    # outside the console the answer is the API's JSON error
    response = requests.get(f"{live_server.url}/no-such-endpoint", timeout=30)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"
