# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the AWX job templates of roles/awx_jobs the way AWX launches them, with ansible-runner, in check mode.

Each template is rendered by cdc.pipeline.awx_job_templates (what AWX receives). Its extra variables are what
AWX would put together at launch: every survey default AWX accepts (a default is applied only when it passes
the question's own validation, so an empty multiselect is left out), then the answers given here for questions
that have no default. A required question without default or answer is an error, as AWX refuses the launch.
The template's job tags are passed on. Each job runs in check mode with ansible-runner's Python API, --jobs at a
time (check mode changes nothing, so jobs on the same hosts do not disturb each other); the report lists each
template's status, seconds and failed tasks, and the exit code is 1 when any failed.

    run_job_templates.py --inventory INV [--answers JSON] [--skip NAME ...] [--jobs N] [--report FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.tools.collection_path import make_importable  # noqa: E402

make_importable()
from ansible_collections.cdc.pipeline.plugins.filter.awx import awx_job_templates  # noqa: E402


def _valid_default(question: dict, value) -> bool:
    """AWX's survey element validation of one value (awx/main/models/mixins.py), as far as defaults need it."""
    kind = question["type"]
    if kind in ("text", "textarea", "password"):
        return isinstance(value, str) and question.get("min", 0) <= len(value) <= question.get("max", len(value))
    if kind == "integer":
        return type(value) is int and question.get("min", value) <= value <= question.get("max", value)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "multiselect":
        return isinstance(value, list) and all(one in question["choices"] for one in value)
    if kind == "multiplechoice":
        return value in question["choices"]
    return False


def launch_vars(template: dict, answers: dict) -> dict:
    """The extra variables AWX builds at launch from the survey defaults and the answers given."""
    out = {}
    for question in template["survey_spec"].get("spec", []):
        variable = question["variable"]
        if variable in answers:
            value = answers[variable]
            if not _valid_default(question, value):
                raise ValueError(f"{template['name']}: the answer {value!r} to {variable} is refused by its survey")
            out[variable] = value
        elif "default" in question and _valid_default(question, question["default"]):
            out[variable] = question["default"]
        elif question["required"]:
            raise ValueError(f"{template['name']}: {variable} is required and has no default: give it in --answers")
    return out


def templates() -> list[dict]:
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "awx_jobs" / "defaults" / "main.yml").read_text())
    probes = yaml.safe_load((REPO_ROOT / "roles" / "golive" / "vars" / "main.yml").read_text())["golive_all_probes"]
    return awx_job_templates(
        defaults["awx_jobs_templates"],
        defaults["awx_jobs_name_prefix"],
        "project",
        "inventory",
        ["machine"],
        "",
        {"golive_all_probes": probes},
    )


def run_one(template: dict, inventory: str, answers: dict) -> dict:
    import ansible_runner

    extravars = launch_vars(template, answers)
    cmdline = ["--check"] + (["--tags", template["job_tags"]] if template["job_tags"] else [])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cdc-runner-") as private:
        run = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(REPO_ROOT),
            playbook=template["playbook"],
            inventory=inventory,
            extravars=extravars,
            cmdline=" ".join(cmdline),
            quiet=True,
        )
        failed = [
            "%s: %s: %s"
            % (
                event["event_data"].get("host"),
                event["event_data"].get("task"),
                str((event["event_data"].get("res") or {}).get("msg", ""))[:300],
            )
            for event in run.events
            if event.get("event") in ("runner_on_failed", "runner_on_unreachable")
            and not event["event_data"].get("ignore_errors")
        ]
    return {
        "template": template["name"],
        "playbook": template["playbook"],
        "extra_vars": extravars,
        "status": run.status,
        "rc": run.rc,
        "seconds": round(time.monotonic() - started, 1),
        "failed_tasks": failed,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--answers", default="{}", help="JSON: answers to survey questions without a default")
    parser.add_argument("--skip", action="append", default=[], help="a template name (after the prefix) to leave out")
    parser.add_argument("--jobs", type=int, default=1, help="how many templates run at once")
    parser.add_argument("--report", help="write the report as JSON here")
    args = parser.parse_args(argv)
    answers = json.loads(args.answers)
    chosen = [one for one in templates() if not any(one["name"].endswith(skip) for skip in args.skip)]
    # Every template's launch variables first: a survey that refuses its answers stops the run before any job.
    for template in chosen:
        launch_vars(template, answers)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        report = list(pool.map(lambda template: run_one(template, args.inventory, answers), chosen))
    for result in report:
        print(f"{result['status']:>10} {result['seconds']:>7}s  {result['template']} ({result['playbook']})")
        for line in result["failed_tasks"]:
            print(f"{'':>20}{line}")
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2))
    return 0 if all(one["status"] == "successful" for one in report) else 1


if __name__ == "__main__":
    sys.exit(main())
