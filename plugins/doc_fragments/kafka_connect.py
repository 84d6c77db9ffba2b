# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the cdc.pipeline Kafka Connect modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # cdc.pipeline.kafka_connect: how to reach a Kafka Connect worker's REST API (every Connect module).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Address of one Connect worker's REST listener, for example C(https://10.0.0.31:8083). Any worker of the
        cluster will do, as it forwards writes to the leader.
      - The host must be named in the worker's certificate (subjectAltName), as O(validate_certs) checks it.
    type: str
    required: true
  ca_cert:
    description:
      - CA certificate (PEM) that signed the workers' REST certificate (the pipeline root CA,
        C(/etc/cdc-pki/connect/ca.pem) on a worker).
      - Without it the system trust store is used.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) presented to the worker. The pipeline's workers require one
        (C(listeners.https.ssl.client.auth=required)) signed by the pipeline CA. Give O(client_key) with it.
      - On a worker, its own C(/etc/cdc-pki/connect/connect-fullchain.pem) will do. It carries the intermediate CA,
        which the workers need, as they trust the root only. Its key C(connect.key) is readable by root (C(become)).
    type: path
  client_key:
    description:
      - Private key (PEM, unencrypted) of O(client_cert).
    type: path
  validate_certs:
    description:
      - Verify the worker's certificate and that it names the host of O(url). Only turn this off to debug; never
        in production.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each REST request.
    type: int
    default: 30
attributes:
  action_group:
    description: Use C(group/cdc.pipeline.kafka_connect) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - cdc.pipeline.kafka_connect
notes:
  - Runs where the task runs (use C(delegate_to) to a host that reaches the REST port, the controller or a worker)
    and talks to the REST API with the Python standard library; no extra package is needed.
  - An HTTP 409 (the workers are rebalancing) is retried with a growing pause (0.5 s up to 8 s) for up to 60 s.
  - Any failure is reported as one message naming the fix (worker unreachable, TLS verification failed,
    client certificate missing or refused, plain HTTP), before anything is changed.
"""
