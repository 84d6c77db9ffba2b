# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for scripts/run_parallel.py: bounded concurrency, every stage run, failures reported."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_parallel.py"
spec = importlib.util.spec_from_file_location("run_parallel", SCRIPT)
run_parallel = importlib.util.module_from_spec(spec)
sys.modules["run_parallel"] = run_parallel
spec.loader.exec_module(run_parallel)


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch):
    monkeypatch.setattr(run_parallel, "POLL_SECONDS", 0.1)


def test_stage_spec_splits_on_the_first_equals_sign(tmp_path):
    stage = run_parallel.parse_stage("molecule kafka=make x VAR=1", tmp_path)
    assert stage.name == "molecule kafka"
    assert stage.command == "make x VAR=1"
    assert stage.log == tmp_path / "molecule-kafka.log"


@pytest.mark.parametrize("spec", ["no-equals", "=cmd", "name="])
def test_a_malformed_stage_is_refused(spec, tmp_path):
    with pytest.raises(argparse.ArgumentTypeError):
        run_parallel.parse_stage(spec, tmp_path)


def test_all_stages_run_even_after_a_failure_and_the_failure_is_reported(tmp_path, capsys):
    times = tmp_path / "times.txt"
    code = run_parallel.main(
        [
            "--jobs",
            "2",
            "--times",
            str(times),
            "--log-dir",
            str(tmp_path / "logs"),
            "bad=echo broken-output; exit 3",
            "good=echo fine",
            "late=touch " + str(tmp_path / "late-ran"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert (tmp_path / "late-ran").exists()
    assert "bad FAILED (exit 3)" in out
    assert "broken-output" in out
    recorded = times.read_text()
    assert "bad: " in recorded and "FAILED" in recorded
    assert "good: " in recorded and "late: " in recorded


def test_no_more_than_jobs_stages_run_at_once(tmp_path):
    # Each stage records the number of stages running while it runs; with --jobs 2 it never exceeds 2.
    counter = tmp_path / "running"
    counter.mkdir()
    stage = f"touch {counter}/$$; n=$(ls {counter} | wc -l); echo $n >> {tmp_path}/seen; sleep 1; rm {counter}/$$"
    code = run_parallel.main(["--jobs", "2", "--log-dir", str(tmp_path / "logs")] + [f"s{i}={stage}" for i in range(4)])
    assert code == 0
    seen = [int(line) for line in (tmp_path / "seen").read_text().split()]
    assert len(seen) == 4
    assert max(seen) <= 2


def test_every_stage_passing_exits_zero(tmp_path):
    assert run_parallel.main(["--jobs", "1", "--log-dir", str(tmp_path), "a=true", "b=true"]) == 0


def test_each_stage_reports_the_cpu_of_its_processes_and_the_run_how_busy_the_cores_were(tmp_path):
    times = tmp_path / "times.txt"
    burn = "python3 -c 'import time; t = time.process_time(); exec(\"while time.process_time() - t < 0.5: pass\")'"
    args = ["--jobs", "2", "--log-dir", str(tmp_path), "--times", str(times), f"burn={burn}", "idle=sleep 0.3"]
    assert run_parallel.main(args) == 0
    lines = dict(line.split(": ", 1) for line in times.read_text().splitlines())
    burn_cpu = float(lines["burn"].split("(")[1].split("s cpu")[0])
    idle_cpu = float(lines["idle"].split("(")[1].split("s cpu")[0])
    assert burn_cpu >= 0.5 > idle_cpu  # the grandchild's CPU counts; a sleeping stage has almost none
    assert lines["cores busy while the stages ran"].endswith("%")


def test_an_exit_code_is_kept_with_the_cpu_time(tmp_path):
    stage = run_parallel.parse_stage("x=exit 3", tmp_path)
    run_parallel.start(stage)
    while not run_parallel.reap(stage):
        pass
    assert stage.returncode == 3 and stage.cpu_seconds >= 0


def test_duplicate_names_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        run_parallel.main(["--log-dir", str(tmp_path), "a=true", "a=false"])


ANSIBLE_LOG = """\
TASK [Wait for the port] *******************************************************
FAILED - RETRYING: [h1]: Wait for the port (3 retries left).
fatal: [h1]: FAILED! =>
  changed: false
  msg: port 9 is closed
...ignoring

TASK [Exactly one notification] ************************************************
fatal: [h2]: FAILED! =>
  assertion: firing | length == 1
  msg: 2 firing notifications

PLAY RECAP *********************************************************************
"""

PYTEST_LOG = """\
tests/integration/test_x.py::test_a PASSED
E   AssertionError: 2 != 1
FAILED tests/integration/test_x.py::test_b - AssertionError: 2 != 1
"""


def test_the_excerpt_names_the_failed_task_and_its_message_and_leaves_out_ignored_failures():
    excerpt = run_parallel.failure_excerpt(ANSIBLE_LOG)
    assert excerpt == [
        "TASK [Exactly one notification] ************************************************",
        "fatal: [h2]: FAILED! =>",
        "  assertion: firing | length == 1",
        "  msg: 2 firing notifications",
    ]


def test_the_excerpt_keeps_pytest_failure_lines():
    assert run_parallel.failure_excerpt(PYTEST_LOG) == [
        "E   AssertionError: 2 != 1",
        "FAILED tests/integration/test_x.py::test_b - AssertionError: 2 != 1",
    ]


def test_the_failures_are_the_last_thing_printed(tmp_path, capsys):
    stages = [run_parallel.parse_stage("bad=printf 'fatal: [h]: FAILED! =>\\n  msg: boom\\n'; exit 3", tmp_path)]
    assert run_parallel.run(stages, jobs=1, times=None) == 1
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-2:] == ["fatal: [h]: FAILED! =>", "  msg: boom"]


def test_a_long_excerpt_keeps_the_last_failures(monkeypatch):
    monkeypatch.setattr(run_parallel, "EXCERPT_LINES", 2)
    log = "fatal: [h1]: FAILED! =>\n  msg: first\n\nfatal: [h2]: FAILED! =>\n  msg: last\n"
    assert run_parallel.failure_excerpt(log) == ["fatal: [h2]: FAILED! =>", "  msg: last"]


def test_molecule_framed_and_coloured_output_is_read():
    # As molecule writes it into a stage's log: colour codes and a frame before each Ansible line.
    log = (
        "  \x1b[2m│\x1b[0m TASK [Delete podman network dedicated to this scenario]\n"
        "  \x1b[2m│\x1b[0m \x1b[0;31m[ERROR]: Task failed: Module failed: Can't delete network\x1b[0m\n"
        "  \x1b[2m\x1b[31m│\x1b[0m \x1b[0;31mfatal: [h]: FAILED! =>\x1b[0m\n"
        "  \x1b[2m\x1b[31m│\x1b[0m \x1b[0;31m    msg: has associated containers\x1b[0m\n"
        "  \x1b[2m│\x1b[0m \n"
    )
    assert run_parallel.failure_excerpt(log) == [
        "[ERROR]: Task failed: Module failed: Can't delete network",
        "TASK [Delete podman network dedicated to this scenario]",
        "fatal: [h]: FAILED! =>",
        "    msg: has associated containers",
    ]
