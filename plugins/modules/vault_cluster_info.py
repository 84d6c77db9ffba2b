#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vault_cluster_info
short_description: Report the health, seal state and raft membership of a Vault/OpenBao node
version_added: 0.1.0
description:
  - Reads C(sys/health) with every node state answering 200, so a standby, sealed or uninitialised
    node is reported rather than failing. An unreachable node still fails with one clear message,
    which makes the module usable as a health gate.
  - With a token (and an unsealed node) also reads the raft configuration and the autopilot state.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.vault
  - cdc.pipeline.vault.token
attributes:
  check_mode:
    support: full
    description: An info module; it never changes anything.
  diff_mode:
    support: none
    description: An info module has nothing to compare.
options:
  token:
    description:
      - Optional here (falls back to E(VAULT_TOKEN)). Without it only the unauthenticated health fields are returned.
"""

EXAMPLES = r"""
- name: Read the cluster state
  cdc.pipeline.vault_cluster_info:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
  delegate_to: localhost
  register: vault_state

- name: Three voters and a healthy autopilot
  ansible.builtin.assert:
    that:
      - vault_state.voters == 3
      - vault_state.autopilot.healthy
"""

RETURN = r"""
initialized:
  description: Whether the cluster is initialised.
  returned: always
  type: bool
sealed:
  description: Whether this node is sealed.
  returned: always
  type: bool
standby:
  description: Whether this node is a standby (not the active node).
  returned: always
  type: bool
version:
  description: Server version.
  returned: always
  type: str
  sample: 2.7.2
cluster_name:
  description: Cluster name (empty while sealed or uninitialised).
  returned: always
  type: str
cluster_id:
  description: Cluster id (empty while sealed or uninitialised).
  returned: always
  type: str
server_time:
  description: The node's clock (UTC, ISO 8601).
  returned: always
  type: str
  sample: "2026-11-26T18:54:51Z"
servers:
  description: Raft configuration, one entry per server.
  returned: when a token is given, the node is unsealed and storage is raft
  type: list
  elements: dict
  contains:
    node_id:
      description: Raft node id.
      type: str
    address:
      description: Cluster address.
      type: str
    leader:
      description: Whether this server leads.
      type: bool
    voter:
      description: Whether it votes.
      type: bool
voters:
  description: Number of voting servers.
  returned: when RV(servers) is
  type: int
  sample: 3
leader:
  description: node_id of the leader (empty when there is none).
  returned: when RV(servers) is
  type: str
autopilot:
  description: Autopilot state.
  returned: when RV(servers) is
  type: dict
  contains:
    healthy:
      description: Whether autopilot considers the cluster healthy.
      type: bool
    failure_tolerance:
      description: How many voters can fail without losing quorum.
      type: int
    servers:
      description: Per node_id, its C(status) (leader, voter, non-voter), C(healthy) and C(last_contact).
      type: dict
"""

import datetime

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    VaultError,
    connection_argument_spec,
    run_module,
)


def health_facts(health):
    epoch = health.get("server_time_utc")
    server_time = ""
    if epoch:
        server_time = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "initialized": bool(health.get("initialized")),
        "sealed": bool(health.get("sealed")),
        "standby": bool(health.get("standby")),
        "version": health.get("version", ""),
        "cluster_name": health.get("cluster_name", ""),
        "cluster_id": health.get("cluster_id", ""),
        "server_time": server_time,
    }


def raft_facts(vault):
    try:
        answer = vault.request("GET", "sys/storage/raft/configuration") or {}
    except VaultError as exc:
        if "permission denied" in str(exc) or "token was refused" in str(exc):
            raise
        return {}  # not raft storage: nothing to report
    servers = [
        {
            "node_id": server.get("node_id", ""),
            "address": server.get("address", ""),
            "leader": bool(server.get("leader")),
            "voter": bool(server.get("voter")),
        }
        for server in ((answer.get("data") or {}).get("config") or {}).get("servers") or []
    ]
    leaders = [server["node_id"] for server in servers if server["leader"]]
    return {
        "servers": servers,
        "voters": sum(1 for server in servers if server["voter"]),
        "leader": leaders[0] if leaders else "",
        "autopilot": autopilot_facts(vault),
    }


def autopilot_facts(vault):
    state = (vault.request("GET", "sys/storage/raft/autopilot/state") or {}).get("data") or {}
    return {
        "healthy": bool(state.get("healthy")),
        "failure_tolerance": int(state.get("failure_tolerance") or 0),
        "servers": dict(
            (
                node_id,
                {
                    "status": server.get("status", ""),
                    "healthy": bool(server.get("healthy")),
                    "last_contact": server.get("last_contact", ""),
                },
            )
            for node_id, server in (state.get("servers") or {}).items()
        ),
    }


def run(module, vault):
    facts = health_facts(vault.health())
    if vault.token and facts["initialized"] and not facts["sealed"]:
        vault.lookup_self()  # a refused token fails here, with the token message
        facts.update(raft_facts(vault))
    facts["changed"] = False
    return facts


def main():
    module = SecretSafeModule(argument_spec=connection_argument_spec(), supports_check_mode=True)
    run_module(module, run, need_token=False)


if __name__ == "__main__":
    main()
