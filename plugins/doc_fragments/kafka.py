# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the cdc.pipeline Kafka admin modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # cdc.pipeline.kafka: how to reach and log in to the brokers (every Kafka module).
    DOCUMENTATION = r"""
options:
  bootstrap_servers:
    description:
      - Brokers to connect to first, as C(host:port) of their client listener (for example C(10.0.0.21:9092)).
        One reachable broker is enough; list several so one being down does not fail the task.
      - With TLS each address must be named in the broker certificate's subjectAltName (see O(verify_hostname)).
    type: list
    elements: str
    required: true
  security_protocol:
    description:
      - Protocol of the listener. C(SASL_SSL) (TLS plus a SASL login) is what production listeners use.
      - C(SSL) is TLS without SASL (the principal comes from O(client_cert)); C(SASL_PLAINTEXT) and C(PLAINTEXT)
        send everything in clear text and belong on loopback at most.
    type: str
    choices: [SASL_SSL, SSL, SASL_PLAINTEXT, PLAINTEXT]
    default: SASL_SSL
  sasl_mechanism:
    description:
      - SASL mechanism of the login; the listener must enable it (C(sasl.enabled.mechanisms)).
    type: str
    choices: [SCRAM-SHA-512, SCRAM-SHA-256, PLAIN]
    default: SCRAM-SHA-512
  sasl_username:
    description:
      - User the module logs in as. It must be allowed what the module does; an admin listed in the
        brokers' C(super.users) (for example C(User:admin)) is allowed everything.
      - Required with C(SASL_SSL) and C(SASL_PLAINTEXT).
    type: str
  sasl_password:
    description:
      - Password of O(sasl_username). Never logged or returned.
    type: str
  ca_cert:
    description:
      - CA certificate (PEM) on the controller that signed the brokers' listener certificates.
      - Without it the system trust store is used.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for mutual TLS (listeners with C(ssl.client.auth=required)).
        Give O(client_key) with it.
    type: path
  client_key:
    description:
      - Private key (PEM, unencrypted) of O(client_cert).
    type: path
  verify_hostname:
    description:
      - Check that the broker certificate names the address the module connected to
        (C(ssl.endpoint.identification.algorithm=https)). Only turn this off to debug; never in production.
    type: bool
    default: true
  request_timeout:
    description:
      - Seconds to wait for each admin request, and for an unreachable broker before giving up.
    type: int
    default: 30
attributes:
  action_group:
    description: Use C(group/cdc.pipeline.kafka) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - cdc.pipeline.kafka
notes:
  - Runs on the Ansible controller or an AWX execution environment (use C(delegate_to=localhost)) and talks to
    the brokers with the C(confluent-kafka) AdminClient.
  - The module first connects and logs in. Any failure is reported as one message naming the fix (brokers
    unreachable, SASL login refused, TLS verification failed, wrong O(security_protocol), missing ACL),
    before anything is changed.
requirements:
  - confluent-kafka >= 2.3 (pip package C(confluent-kafka))
"""
