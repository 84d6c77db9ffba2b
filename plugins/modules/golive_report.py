#!/usr/bin/python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: golive_report
short_description: Judge the readiness checklist and write the go-live report (JSON and HTML)
version_added: "0.1.0"
description:
  - Judges every item of the readiness map (C(playbooks/vars/readiness_checklist.yml)) from what the live probes
    found (O(results)), the sign-offs of manual items (O(signoffs)) and the waivers (O(waivers)), and writes the report
    in two forms into O(dest) on the host it runs on (the controller, delegated). C(<name>.json) is for machines and
    AWX artifacts; C(<name>.html) is a self-contained page for people, with the verdict at the top, the counts of
    each section and each item with its evidence.
  - "An item's outcome: C(pass) (its probe passed live, or its page is linked), C(fail) (its probe failed, no probe
    ran for it, or its page does not exist), C(signed) or C(pending) (manual items), C(waived) (not met, with an
    unexpired waiver). An automated item without a live result fails: nothing passes for want of a probe."
  - "The verdict: C(no-go) when an item fails, else C(pending sign-off) when a manual item is unsigned, else C(go).
    The module reports it; the play decides what a no-go stops (see docs/go-live.md)."
  - A sign-off or waiver that names no item of the map, or lacks one of its fields, is refused before anything is
    written, naming the variable and the item.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
options:
  checklist:
    description: The map's entries (C(readiness_checklist)), each with C(id), C(section), C(position) and C(kind).
    type: list
    elements: dict
    required: true
  results:
    description:
      - What each probe found, by probe name; C(passed) (bool) decides, C(command), C(result) and C(at) are the
        evidence shown in the report.
    type: dict
    default: {}
  host_results:
    description:
      - What each host's probes found, by host then probe name, each result as in O(results) (the go-live play
        gathers them from every host). A probe passes when it passed on every host that ran it; the report shows
        each host's result and names the hosts it failed on. A probe in O(results) too is judged by O(results).
    type: dict
    default: {}
  signoffs:
    description: Manual items signed, by item id, each with C(signer), C(date) (YYYY-MM-DD) and C(evidence).
    type: dict
    default: {}
  waivers:
    description:
      - Items accepted unmet for a time, by item id, each with C(reason), C(signer) and C(expires) (YYYY-MM-DD).
    type: dict
    default: {}
  docs_present:
    description:
      - The documentation pages that exist (paths such as C(docs/slo.md)); a document item whose page is not among them
        fails. Omitted, the map's own status of each document item is trusted.
    type: list
    elements: str
  dest:
    description: Directory for the two files; created (mode 0750) when missing.
    type: path
    required: true
  name:
    description: Base name of the two files.
    type: str
    default: golive-report
attributes:
  check_mode:
    support: full
    description: The report is judged and returned; nothing is written.
  diff_mode:
    support: none
    description: The report is the output; there is no before to compare.
notes:
  - The report contains no secret; it names hosts, probes and people. Keep it where the change record lives.
"""

EXAMPLES = r"""
- name: The go-live report
  cdc.pipeline.golive_report:
    checklist: "{{ readiness_checklist }}"
    results: "{{ golive_probe_results }}"
    signoffs: "{{ cdc_golive_signoffs | default({}) }}"
    waivers: "{{ cdc_golive_waivers | default({}) }}"
    dest: "{{ cdc_golive_report_dir }}"
  delegate_to: localhost
  run_once: true
  register: golive
"""

RETURN = r"""
verdict:
  description: C(go), C(no-go) or C(pending sign-off).
  returned: always
  type: str
  sample: no-go
failing:
  description: Ids of the items that fail.
  returned: always
  type: list
  elements: str
  sample: [connector_failed_alert]
pending:
  description: Ids of the manual items not signed yet.
  returned: always
  type: list
  elements: str
  sample: [oncall_rotation]
sections:
  description: Per section, the number of items and of each outcome.
  returned: always
  type: dict
  sample: {"Security": {"items": 12, "pass": 11, "fail": 1, "signed": 0, "pending": 0, "waived": 0}}
report:
  description:
    - The whole report, as the JSON file holds it (also in check mode, where no file is written) - C(verdict),
      C(failing), C(pending), C(sections) and C(items), each item with its outcome and evidence.
  returned: always
  type: dict
json_path:
  description: The JSON report written (or that would be, in check mode).
  returned: always
  type: str
  sample: /var/lib/cdc/golive/golive-report.json
html_path:
  description: The HTML page written (or that would be, in check mode).
  returned: always
  type: str
  sample: /var/lib/cdc/golive/golive-report.html
"""

import datetime
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cdc.pipeline.plugins.module_utils.golive import (
    GoLiveInputError,
    build_report,
    merge_host_results,
    render_html,
)


def write_file(module, path, content):
    """Written beside its destination, then renamed over it: a reader never sees half a report."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".golive-")
    with os.fdopen(handle, "w") as stream:
        stream.write(content)
    os.chmod(temporary, 0o640)
    module.atomic_move(temporary, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            checklist=dict(type="list", elements="dict", required=True),
            results=dict(type="dict", default={}),
            host_results=dict(type="dict", default={}),
            signoffs=dict(type="dict", default={}),
            waivers=dict(type="dict", default={}),
            docs_present=dict(type="list", elements="str"),
            dest=dict(type="path", required=True),
            name=dict(type="str", default="golive-report"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    results = dict(merge_host_results(params["host_results"]), **params["results"])
    try:
        report = build_report(
            params["checklist"], results, params["signoffs"], params["waivers"], now, params["docs_present"]
        )
    except GoLiveInputError as exc:
        module.fail_json(msg="The go-live report cannot be judged: %s" % exc)
    except KeyError as exc:
        module.fail_json(
            msg="A checklist entry lacks %s: pass the entries of playbooks/vars/readiness_checklist.yml" % exc
        )
    json_path = os.path.join(params["dest"], params["name"] + ".json")
    html_path = os.path.join(params["dest"], params["name"] + ".html")
    if not module.check_mode:
        try:
            if not os.path.isdir(params["dest"]):
                os.makedirs(params["dest"], 0o750)
            write_file(module, json_path, json.dumps(report, indent=1, sort_keys=True, default=str) + "\n")
            write_file(module, html_path, render_html(report))
        except OSError as exc:
            module.fail_json(
                msg="Cannot write the go-live report into %s: %s; give a writable dest" % (params["dest"], exc)
            )
    module.exit_json(
        changed=not module.check_mode,
        verdict=report["verdict"],
        failing=report["failing"],
        pending=report["pending"],
        sections=report["sections"],
        report=json.loads(json.dumps(report, default=str)),
        json_path=json_path,
        html_path=html_path,
    )


if __name__ == "__main__":
    main()
