"""The lab inventory's go-live waivers (inventories/lab/group_vars/all/golive.yml): each names an item of the
readiness map with its reason, signer and expiry, and none waives an item the lab proves live."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIVERS = yaml.safe_load((REPO_ROOT / "inventories/lab/group_vars/all/golive.yml").read_text())["golive_waivers"]
MAP = yaml.safe_load((REPO_ROOT / "playbooks/vars/readiness_checklist.yml").read_text())["readiness_checklist"]
PROBES = yaml.safe_load((REPO_ROOT / "roles/golive/vars/main.yml").read_text())["golive_all_probes"]
# Live probes the lab runs but cannot pass: no ScyllaDB server, one machine.
LAB_CANNOT = {"snapshot_age", "backup_offsite"}


def test_every_waiver_names_an_item_with_reason_signer_and_expiry():
    ids = {item["id"] for item in MAP}
    assert set(WAIVERS) <= ids, set(WAIVERS) - ids
    for item_id, waiver in WAIVERS.items():
        assert waiver["reason"].strip() and waiver["signer"].strip(), item_id
        datetime.date.fromisoformat(waiver["expires"])


def test_no_waiver_hides_an_item_the_lab_proves_live():
    probe_of = {item["id"]: item.get("probe") for item in MAP}
    hidden = sorted(item_id for item_id in WAIVERS if probe_of[item_id] in set(PROBES) - LAB_CANNOT)
    assert hidden == [], "these items have a live probe now: drop their lab waiver"
