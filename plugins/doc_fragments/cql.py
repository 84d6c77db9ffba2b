# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the cdc.pipeline CQL modules (ScyllaDB)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # cdc.pipeline.cql: how to reach and log in to the ScyllaDB nodes (scylla_cdc, scylla_role).
    DOCUMENTATION = r"""
options:
  login_hosts:
    description:
      - Nodes to connect to, as addresses or names without a port (see O(login_port)). The module talks only to
        these (it does not follow the addresses the nodes gossip), so one reachable node is enough; list several
        so one being down does not fail the task.
      - With TLS each entry must be named in the node certificate's subjectAltName (see O(validate_certs)).
    type: list
    elements: str
    required: true
    aliases: [login_host]
  login_port:
    description:
      - CQL port of the nodes. C(9142) is ScyllaDB's TLS port (C(native_transport_port_ssl)); the plain port is
        C(9042) (then set O(ssl=false)).
    type: int
    default: 9142
    aliases: [port]
  login_user:
    description:
      - Role the module logs in as. It must be allowed what the module does; a superuser is allowed everything.
      - Leave unset only for a cluster without authentication.
    type: str
  login_password:
    description:
      - Password of O(login_user). Never logged or returned.
    type: str
  ssl:
    description:
      - Connect with TLS (1.2 or newer). Without it every statement, passwords included, crosses the network in
        clear text; use C(false) only towards a plain port on loopback.
    type: bool
    default: true
  validate_certs:
    description:
      - Check the node certificate against O(ca_cert) and that it names the address connected to. Only turn this
        off to debug; never in production.
    type: bool
    default: true
  ca_cert:
    description:
      - CA certificate (PEM) on the controller that signed the nodes' C(client_encryption_options) certificates.
      - Without it the system trust store is used.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for nodes that require one (C(require_client_auth)). Give O(client_key) with it.
    type: path
  client_key:
    description:
      - Private key (PEM, unencrypted) of O(client_cert).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for a node to accept the connection and login, and for each statement.
    type: int
    default: 10
attributes:
  action_group:
    description: Use C(group/cdc.pipeline.cql) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - cdc.pipeline.cql
notes:
  - Runs on the Ansible controller or an AWX execution environment (use C(delegate_to=localhost)) and talks to
    the nodes with the DataStax C(cassandra-driver) (a pure-Python install works, C(CASS_DRIVER_NO_CYTHON=1)).
  - The module first connects and logs in. Any failure is reported as one message naming the fix (nodes
    unreachable, login refused, TLS verification failed, TLS against a plain port or the reverse, missing
    permission), before anything is changed.
requirements:
  - cassandra-driver >= 3.25 (pip package C(cassandra-driver))
"""
