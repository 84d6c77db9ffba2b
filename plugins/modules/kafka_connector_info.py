#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_connector_info
short_description: Report the connectors of a Kafka Connect cluster with their state, tasks and config
version_added: 0.1.0
description:
  - Reads every connector (or those of O(name)) in one request (C(GET /connectors?expand=status&expand=info)).
  - For each connector it returns the type, the state and the worker that runs it, each task with its state and
    worker, the trace of anything FAILED, and the config with secrets masked. Values of secret keys are shown
    only when they are a C(${provider:path:key}) reference.
  - Also returns the worker's version and the Kafka cluster id it uses (C(GET /)), and a summary to assert on.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka_connect
attributes:
  check_mode:
    support: full
    description: An info module; it never changes anything.
  diff_mode:
    support: none
    description: An info module has nothing to compare.
options:
  name:
    description:
      - Report only these connectors (default all). Names that do not exist are listed in RV(missing). A name
        that cannot be a connector name (empty, spaces around it, a control character, a slash, backslash,
        percent sign, question mark, hash or semicolon, C(.) or C(..)) is refused before any request.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Connectors of the Connect cluster
  cdc.pipeline.kafka_connector_info:
    url: https://10.0.0.31:8083
    ca_cert: /etc/cdc-pki/connect/ca.pem
    client_cert: /etc/cdc-pki/connect/connect-fullchain.pem
    client_key: /etc/cdc-pki/connect/connect.key
  delegate_to: "{{ groups['kafka_connect'][0] }}"
  register: connect_info

- name: Nothing failed
  ansible.builtin.assert:
    that: connect_info.summary.failed == []
    fail_msg: "failed: {{ connect_info.summary.failed }}"
"""

RETURN = r"""
worker:
  description: What the worker at O(url) reports about itself (C(GET /)).
  returned: always
  type: dict
  sample: {"url": "https://10.0.0.31:8083", "version": "4.4.0", "commit": "1156b2752aaa28ea",
           "kafka_cluster_id": "GrKgEJPRRIeF9aJ_c7JxLg"}
connectors:
  description: The connectors, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Connector name.
      type: str
    type:
      description: C(source) or C(sink).
      type: str
    state:
      description: UNASSIGNED, RUNNING, PAUSED, STOPPED, FAILED or RESTARTING.
      type: str
    worker_id:
      description: The worker that runs the connector (host:port).
      type: str
    trace:
      description: The connector's stack trace, when it is FAILED.
      type: str
      returned: when the connector is FAILED
    tasks:
      description: Each task with C(id), C(state), C(worker_id), and C(trace) when it failed.
      type: list
      elements: dict
    config:
      description: The config, secrets masked (C(name) included, as the worker holds it).
      type: dict
  sample:
    - name: pg-sink
      type: sink
      state: RUNNING
      worker_id: 10.0.0.31:8083
      tasks: [{"id": 0, "state": "RUNNING", "worker_id": "10.0.0.32:8083"}]
      config: {"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
               "connection.password": "${directory:/run/cdc-secrets/connect:sink-password}", "name": "pg-sink"}
missing:
  description: Names given in O(name) that are not connectors of the cluster.
  returned: always
  type: list
  elements: str
  sample: []
summary:
  description:
    - C(total) connectors; C(failed) names with a FAILED connector or task; C(not_running) names whose connector is
      not RUNNING (paused and stopped ones included).
  returned: always
  type: dict
  sample: {"total": 2, "failed": [], "not_running": ["scylla-source"]}
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka_connect import (
    check_connector_name,
    connection_argument_spec,
    failed_parts,
    mask_config,
    run_module,
    task_list,
)


def connector_entry(name, expanded):
    status = expanded.get("status") or {}
    info = expanded.get("info") or {}
    connector = status.get("connector") or {}
    entry = {
        "name": name,
        "type": info.get("type") or status.get("type"),
        "state": connector.get("state"),
        "worker_id": connector.get("worker_id"),
        "tasks": task_list(status),
        "config": mask_config(info.get("config") or {}),
    }
    if connector.get("trace"):
        entry["trace"] = connector["trace"]
    return entry


def run(module, client):
    for name in module.params["name"] or []:
        check_connector_name(name, option="name entry")
    worker = client.worker()
    everything = client.connectors_expanded()
    wanted = module.params["name"] or sorted(everything)
    connectors = [connector_entry(name, everything[name]) for name in sorted(set(wanted)) if name in everything]
    failed = [entry["name"] for entry in connectors if failed_parts({"connector": entry, "tasks": entry["tasks"]})]
    return {
        "changed": False,
        "worker": {
            "url": client.url,
            "version": worker.get("version"),
            "commit": worker.get("commit"),
            "kafka_cluster_id": worker.get("kafka_cluster_id"),
        },
        "connectors": connectors,
        "missing": sorted(set(name for name in wanted if name not in everything)),
        "summary": {
            "total": len(connectors),
            "failed": failed,
            "not_running": [entry["name"] for entry in connectors if entry["state"] != "RUNNING"],
        },
    }


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(name=dict(type="list", elements="str", default=[]))
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
