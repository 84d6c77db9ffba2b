"""site.yml's plays carry component tags, as cp-ansible users expect (docs/change-management.md).

`ansible-playbook cdc.pipeline.site --tags kafka` deploys and validates Kafka and nothing else. Read from
`--list-tasks` against the example inventory: each play outside the go-live stage carries exactly one
component tag, and each component has the plays that deploy it and, where its role has a validate entry
point, the play that validates it. A new play without a component tag fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Each stage's older day tag names it without doubt: "connectors" is a stage and a component.
STAGE_OF_DAY = {
    "day1": "infrastructure",
    "day4": "security",
    "day6": "services",
    "day8": "connectors",
    "day9": "validation",
    "day11": "golive",
}
COMPONENTS = {"common", "vault", "logging", "scylla", "kafka", "connect", "postgresql", "monitoring", "connectors"}
# component: (stage of the plays that deploy it, whether validate.yml checks it)
DEPLOYED_IN = {
    "common": ("infrastructure", True),
    "vault": ("security", True),
    "logging": ("security", False),
    "scylla": ("services", True),
    "kafka": ("services", True),
    "postgresql": ("services", True),
    "connect": ("services", True),
    "monitoring": ("services", False),
    "connectors": ("connectors", True),
}
PLAY_LINE = re.compile(r"^\s+play #\d+ \((?P<hosts>[^)]*)\): (?P<name>.*)\tTAGS: \[(?P<tags>[^\]]*)\]$")


@pytest.fixture(scope="module")
def plays() -> list[dict]:
    answer = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/example", "site.yml", "--list-tasks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout[-2000:] + answer.stderr[-2000:]
    found = []
    for line in answer.stdout.splitlines():
        match = PLAY_LINE.match(line)
        if match:
            found.append({"name": match["name"], "tags": set(filter(None, match["tags"].split(",")))})
    assert len(found) > 20, answer.stdout[-2000:]
    return found


def stage_of(play: dict) -> str:
    (day,) = play["tags"] & STAGE_OF_DAY.keys()
    return STAGE_OF_DAY[day]


def test_each_play_outside_go_live_has_one_component(plays):
    wrong = [
        (play["name"], sorted(play["tags"] & COMPONENTS))
        for play in plays
        if stage_of(play) != "golive" and len(play["tags"] & COMPONENTS) != 1
    ]
    assert not wrong, f"plays without exactly one component tag: {wrong}"


def test_go_live_is_judged_whole(plays):
    # The report play judges what every probe play found: a component's probes alone would judge nothing.
    assert all(not play["tags"] & COMPONENTS for play in plays if stage_of(play) == "golive")


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_a_component_tag_deploys_it_and_validates_it(plays, component):
    stages = [stage_of(play) for play in plays if component in play["tags"]]
    deploy_stage, validated = DEPLOYED_IN[component]
    assert deploy_stage in stages, f"--tags {component} runs no play of the {deploy_stage} stage: {stages}"
    assert ("validation" in stages) == validated, f"--tags {component}: {stages}"
