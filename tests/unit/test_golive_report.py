"""The go-live verdict and report (module_utils/golive.py, modules/golive_report.py), with the real readiness map."""

from __future__ import annotations

import datetime
import html.parser
import importlib
import json
from pathlib import Path

import pytest
import yaml
from ansible_collections.cdc.pipeline.plugins.module_utils import golive

module = importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules.golive_report")

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
MAP = yaml.safe_load((REPO_ROOT / "playbooks" / "vars" / "readiness_checklist.yml").read_text())["readiness_checklist"]
NOW = datetime.datetime(2027, 1, 15, 9, 30, tzinfo=datetime.UTC)

ITEMS = [
    {"id": "tls_everywhere", "section": "Security", "position": 1, "kind": "automated", "probe": "refuses_plaintext"},
    {
        "id": "runbook",
        "section": "Documentation",
        "position": 1,
        "kind": "document",
        "doc": "docs/runbooks.md",
        "status": "met",
    },
    {
        "id": "oncall",
        "section": "Go-Live",
        "position": 1,
        "kind": "manual",
        "signer": "operations manager",
        "evidence": "rota",
    },
]
PASSED = {
    "refuses_plaintext": {"passed": True, "command": "probe 9092", "result": "refused", "at": "2027-01-15T09:29:00Z"}
}
SIGNED = {"oncall": {"signer": "Jane Doe", "date": "2027-01-12", "evidence": "PagerDuty schedule"}}


def report(results=None, signoffs=None, waivers=None, items=ITEMS, docs_present=None):
    return golive.build_report(
        items, PASSED if results is None else results, signoffs or {}, waivers or {}, NOW, docs_present
    )


def test_everything_proven_documented_and_signed_is_go():
    assert report(signoffs=SIGNED)["verdict"] == golive.GO


def test_an_unsigned_manual_item_leaves_the_verdict_pending():
    result = report()
    assert (result["verdict"], result["pending"], result["failing"]) == (golive.PENDING_SIGN_OFF, ["oncall"], [])


def test_a_failing_probe_is_no_go_and_names_the_item():
    failed = {"refuses_plaintext": dict(PASSED["refuses_plaintext"], passed=False, result="TLS handshake not required")}
    result = report(results=failed, signoffs=SIGNED)
    assert (result["verdict"], result["failing"]) == (golive.NO_GO, ["tls_everywhere"])
    assert result["items"][0]["evidence"]["result"] == "TLS handshake not required"


def test_an_automated_item_without_a_live_result_fails():
    result = report(results={}, signoffs=SIGNED)
    assert result["verdict"] == golive.NO_GO
    assert "no live probe ran" in result["items"][0]["reason"]


def test_a_probe_run_on_several_hosts_passes_only_when_it_passed_on_each():
    ran = {"command": "nft -j list chain inet cdc_filter input", "at": "2027-01-15T09:29:00Z"}
    host_results = {
        "node-1": {"firewall_default_deny": dict(ran, passed=True, result="policy drop")},
        "node-2": {"firewall_default_deny": dict(ran, passed=False, result="policy accept", at="2027-01-15T09:29:05Z")},
    }
    merged = golive.merge_host_results(host_results)["firewall_default_deny"]
    assert merged["passed"] is False
    assert merged["result"] == {
        "by_host": {"node-1": "policy drop", "node-2": "policy accept"},
        "failed_on": ["node-2"],
    }
    assert (merged["command"], merged["at"]) == (ran["command"], "2027-01-15T09:29:05Z")
    host_results["node-2"]["firewall_default_deny"]["passed"] = True
    assert golive.merge_host_results(host_results)["firewall_default_deny"]["passed"] is True


def test_an_unexpired_waiver_waives_a_failure_and_an_expired_one_does_not():
    waiver = {"reason": "accepted for the pilot", "signer": "Sam Lee", "expires": "2027-02-01"}
    waived = report(results={}, signoffs=SIGNED, waivers={"tls_everywhere": waiver})
    assert (waived["verdict"], waived["items"][0]["outcome"]) == (golive.GO, golive.WAIVED)
    expired = report(results={}, signoffs=SIGNED, waivers={"tls_everywhere": dict(waiver, expires="2027-01-14")})
    assert (expired["verdict"], expired["items"][0]["outcome"]) == (golive.NO_GO, golive.FAIL)
    assert expired["items"][0]["waiver_expired"]["signer"] == "Sam Lee"


@pytest.mark.parametrize(
    ("signoffs", "waivers", "message"),
    [
        (
            {},
            {"tls_everywhere": {"reason": "r", "signer": "s"}},
            "cdc_golive_waivers.tls_everywhere needs reason, signer, expires",
        ),
        ({}, {"no_such_item": {"reason": "r", "signer": "s", "expires": "2027-02-01"}}, "no item of the readiness map"),
        ({"tls_everywhere": SIGNED["oncall"]}, {}, "no manual item of the readiness map"),
        ({"oncall": dict(SIGNED["oncall"], date="12.01.2027")}, {}, "is not a date"),
        ({"oncall": {"signer": "Jane Doe", "date": "2027-01-12", "evidence": " "}}, {}, "needs signer, date, evidence"),
    ],
)
def test_a_malformed_or_unknown_declaration_is_refused(signoffs, waivers, message):
    with pytest.raises(golive.GoLiveInputError, match=message):
        report(signoffs=signoffs, waivers=waivers)


def test_a_document_item_fails_when_its_page_is_not_in_the_collection():
    result = report(signoffs=SIGNED, docs_present=["docs/slo.md"])
    assert (result["verdict"], result["failing"]) == (golive.NO_GO, ["runbook"])
    assert report(signoffs=SIGNED, docs_present=["docs/runbooks.md"])["verdict"] == golive.GO


def test_the_real_map_every_item_judged_once_and_counted_by_section():
    result = report(results={}, items=MAP)
    assert len(result["items"]) == len(MAP) == sum(section["items"] for section in result["sections"].values())
    assert result["verdict"] == golive.NO_GO  # no probe ran: every automated item fails
    counted = sum(section[outcome] for section in result["sections"].values() for outcome in golive.OUTCOMES)
    assert counted == len(MAP)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_the_page_is_self_contained_with_the_verdict_first_and_every_value_escaped():
    hostile = {"refuses_plaintext": dict(PASSED["refuses_plaintext"], passed=False, result="<script>alert(1)</script>")}
    page = golive.render_html(report(results=hostile, signoffs=SIGNED))
    parsed = _Collector()
    parsed.feed(page)
    tags = [tag for tag, _attrs in parsed.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    verdict = next(attrs for tag, attrs in parsed.tags if attrs.get("id") == "verdict")
    assert verdict["class"] == "verdict no-go"
    assert "<script>alert(1)</script>" in "".join(parsed.text)  # shown as text, not run


def test_the_module_writes_both_forms_and_check_mode_writes_nothing(tmp_path, monkeypatch):
    results = {}

    def run(check_mode):
        args = {
            "checklist": ITEMS,
            "results": PASSED,
            "signoffs": SIGNED,
            "dest": str(tmp_path / "out"),
            "_ansible_check_mode": check_mode,
        }
        monkeypatch.setattr(module.AnsibleModule, "exit_json", lambda self, **kw: (_ for _ in ()).throw(SystemExit(kw)))
        monkeypatch.setattr(
            "ansible.module_utils.basic._ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        )
        monkeypatch.setattr("ansible.module_utils.basic._ANSIBLE_PROFILE", "legacy")
        with pytest.raises(SystemExit) as ended:
            module.main()
        return ended.value.args[0]

    results["check"] = run(True)
    assert results["check"]["verdict"] == golive.GO and not (tmp_path / "out").exists()
    results["real"] = run(False)
    written = json.loads(Path(results["real"]["json_path"]).read_text())
    assert written["verdict"] == golive.GO and [item["id"] for item in written["items"]] == [
        "tls_everywhere",
        "runbook",
        "oncall",
    ]
    assert Path(results["real"]["html_path"]).read_text().startswith("<!DOCTYPE html>")
