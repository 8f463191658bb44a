"""Every management command of the project answers alike (fossil/commands.py, docs/operations.md
"Commands"): a bad argument is exit 2 with one line `<command>: <reason>` on stderr; a failed
outcome is exit 1, also one line; a synchronous replay is counted and logged like a worker's run."""

from __future__ import annotations

import logging

import pytest
from django.core.management import ManagementUtility, call_command, get_commands, load_command_class
from django.test import Client

from fossil.commands import FossilCommand
from proving import services
from proving.models import Job, JobGroup
from tests.fossil.test_observability import samples, value

PROJECT_APPS = ("handler", "offchain", "proving", "fossil")
PROJECT_COMMANDS = sorted(name for name, app in get_commands().items() if app in PROJECT_APPS)
START, END = 1672531200, 1672531200 + 2 * 3600


def run_from_command_line(capsys, *argv: str) -> tuple[int, list[str]]:
    """manage.py as a shell runs it (argv parsing, CommandError handling), in this process."""
    try:
        ManagementUtility(["manage.py", *argv]).execute()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_the_project_has_its_commands():
    assert {"dead_letters", "replay_job", "price", "ingest_headers", "revoke_api_key"} <= set(PROJECT_COMMANDS)


@pytest.mark.parametrize("name", PROJECT_COMMANDS)
def test_every_command_uses_the_convention(name):
    assert isinstance(load_command_class(get_commands()[name], name), FossilCommand)


@pytest.mark.parametrize("name", PROJECT_COMMANDS)
def test_an_unknown_option_is_exit_2_and_one_line(name, capsys):
    code, lines = run_from_command_line(capsys, name, "--no-such-option")
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"{name}: "), lines


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["dead_letters", "peek"], "invalid choice: 'peek'"),
        (["dead_letters", "show", "nosuchqueue"], "unknown queue 'nosuchqueue'"),
        (["dead_letters", "requeue"], "requeue needs a QUEUE"),
        (["dead_letters", "purge", "proofs"], "pass --yes"),
        (["replay_job", "abc"], "invalid int value: 'abc'"),
        (["ingest_headers", "--from-file", "x.json", "--from", "1"], "--from/--to go with --rpc-url"),
        (["price", "--series", "/nonexistent/series.csv"], "/nonexistent/series.csv"),
    ],
)
def test_bad_arguments_are_exit_2_with_the_command_named(argv, fragment, capsys):
    code, lines = run_from_command_line(capsys, *argv)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"{argv[0]}: ") and fragment in lines[0], lines
    assert "CommandError" not in lines[0] and "usage:" not in lines[0]


@pytest.mark.django_db
def test_a_refusal_by_a_service_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("replay_job", "999999")
    lines = capsys.readouterr().err.splitlines()
    assert exit_info.value.code == 2 and lines == [lines[0]] and lines[0].startswith("replay_job: ")


@pytest.mark.django_db
def test_replay_job_sync_is_counted_and_logged_like_a_workers_run(caplog, sqs_queues):
    call_command("seed_demo_chain", "--start", str(START - 600), "--end", str(END + 600))
    ranges = {metric: (START, END) for metric in ("twap", "reserve_price", "max_return")}
    group, _ = services.job_group_create(job_group_id="c" * 64, ranges=ranges)
    job = Job.objects.get(group=group, metric="twap")
    Job.objects.filter(group=group).update(status="failed", attempts=4, error_code="proof_timeout")
    JobGroup.objects.filter(pk=group.pk).update(status="failed", error="timeouts")

    def succeeded_runs() -> float:
        text = Client().get("/metrics").content.decode()
        return value(samples(text), "fossil_job_runs_total", metric="twap", outcome="succeeded")

    before = succeeded_runs()
    with caplog.at_level(logging.INFO, logger="proving.runner"):
        call_command("replay_job", str(job.pk), "--sync")
    assert succeeded_runs() - before == 1
    lines = [record for record in caplog.records if record.name == "proving.runner"]
    assert any(f"job {job.pk} twap succeeded after" in record.getMessage() for record in lines), lines
