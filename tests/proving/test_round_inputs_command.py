"""``manage.py round_inputs``: the eight inputs of a round as the programs read them, and each check."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from handler.proofs.coprocessor.checks import run_program
from handler.proofs.coprocessor.guests import ProofCompositionInput
from handler.proofs.coprocessor.inputs import COMPOSITION, PROGRAMS, SUB_PROGRAMS, TWAP_7D, composition_expectations
from handler.round_jobs import round_shape
from tests.conftest import VECTORS


def _window(tmp_path, start: int, rows: int):
    lines = (VECTORS / "max_return_input_hourly_avg_base_fee.csv").read_text().splitlines()
    path = tmp_path / "hours.csv"
    path.write_text("\n".join([lines[0], *lines[1 + start : 1 + start + rows]]) + "\n")
    return path


def _run(*args):
    try:
        call_command("round_inputs", *args)
    except SystemExit as exc:
        return exc.code
    return 0


def test_writes_every_programs_input_and_every_check_passes(tmp_path, capsys):
    out = tmp_path / "round"
    assert _run("--series", str(_window(tmp_path, 4320, 1440)), "--out", str(out)) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed[:8]] == ["ok"] * 8
    shape = round_shape()
    composition = ProofCompositionInput.decode((out / f"{COMPOSITION}.bin").read_bytes())
    expected = composition_expectations(composition, shape).journals()
    for program in SUB_PROGRAMS:  # each input, run as its program, commits what the composition rebuilds
        assert run_program(program, (out / f"{program}.bin").read_bytes(), shape) == expected[program], program
    for program in PROGRAMS:
        assert json.loads((out / f"{program}.json").read_text())["type"]
    summary = json.loads((out / "round.json").read_text())
    assert summary["rules"] == "pitchlake-coprocessor:poc" and summary["num_paths"] == composition.num_paths


def test_a_perturbed_input_fails_naming_the_program(tmp_path):
    out = tmp_path / "round"
    assert _run("--series", str(_window(tmp_path, 4320, 1440)), "--out", str(out)) == 0
    data = bytearray((out / f"{TWAP_7D}.bin").read_bytes())
    data[4 + 8 * 12 + 6] ^= 0x10  # a high mantissa bit of the 13th hourly value
    from handler.proofs.errors import ProgramCheckFailed

    with pytest.raises(ProgramCheckFailed) as err:
        run_program(TWAP_7D, bytes(data), round_shape())
    assert err.value.program == TWAP_7D


def test_a_series_of_another_length_exits_2_with_one_line(tmp_path, capsys):
    assert _run("--series", str(_window(tmp_path, 0, 720)), "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("round_inputs: --series: needs 1440 hourly rows")
