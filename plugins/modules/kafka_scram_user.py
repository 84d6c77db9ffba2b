#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kafka_scram_user
short_description: Create, update and delete the SCRAM credential of a Kafka user
version_added: 0.1.0
description:
  - Sets the SCRAM credential (O(mechanism), O(iterations), O(password)) of user O(name) with the Kafka admin API
    (C(AlterUserScramCredentials)), or deletes it. Kafka stores only a salted hash, so the module cannot read the
    password back; O(update_password) says how it decides whether to write it.
  - With the default O(update_password=on_mismatch) the module logs in as O(name) with O(password), over the same
    O(bootstrap_servers) and TLS settings as its own connection (O(sasl_mechanism) is replaced by O(mechanism)).
    A refused login means the password differs, so it is set; a successful one means nothing to do. The login
    changes nothing, so check mode predicts exactly.
  - The module itself logs in as O(sasl_username) (an admin); O(name) needs no ACL for the password test.
  - The password is never logged, returned or shown in a diff.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.kafka
attributes:
  check_mode:
    support: full
    description: Describes the credential (and tests the login with O(update_password=on_mismatch)); writes nothing.
  diff_mode:
    support: full
    description: Mechanisms and iterations before and after; the password only as C(********).
options:
  name:
    description:
      - The user name (the principal is C(User:<name>)).
    type: str
    required: true
  password:
    description:
      - The user's password. Required with O(state=present).
    type: str
  mechanism:
    description:
      - SCRAM mechanism of the credential. A user may have one credential per mechanism; only this one is managed.
    type: str
    choices: [SCRAM-SHA-512, SCRAM-SHA-256]
    default: SCRAM-SHA-512
  iterations:
    description:
      - SCRAM iterations of the stored hash. Kafka accepts 4096 to 16384; fewer than 4096 is refused.
      - A credential with other iterations is rewritten with O(update_password=on_mismatch) or C(always).
    type: int
    default: 8192
  state:
    description:
      - C(present) sets the credential, C(absent) deletes the credential of O(mechanism) (the user's other
        mechanisms stay).
    type: str
    choices: [present, absent]
    default: present
  update_password:
    description:
      - C(on_mismatch) writes the credential when it is missing, when its iterations differ, or when a login as
        O(name) with O(password) is refused. Needs a SASL O(security_protocol) and a listener that enables O(mechanism).
      - C(always) writes it on every run (the task always reports a change).
      - C(on_create) writes it only when the user has no credential of O(mechanism).
    type: str
    choices: [on_mismatch, always, on_create]
    default: on_mismatch
"""

EXAMPLES = r"""
- name: SCRAM user of the Connect workers
  cdc.pipeline.kafka_scram_user:
    bootstrap_servers: ["10.0.0.21:9092"]
    sasl_username: admin
    sasl_password: "{{ pw }}"
    ca_cert: /path/root-ca.pem
    name: connect
    password: "{{ connect_pw }}"
  delegate_to: localhost

- name: Remove a user's SCRAM-SHA-256 credential
  cdc.pipeline.kafka_scram_user:
    bootstrap_servers: ["10.0.0.21:9092"]
    sasl_username: admin
    sasl_password: "{{ pw }}"
    ca_cert: /path/root-ca.pem
    name: legacy-app
    mechanism: SCRAM-SHA-256
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
name:
  description: The user name.
  returned: always
  type: str
  sample: connect
mechanism:
  description: The mechanism managed.
  returned: always
  type: str
  sample: SCRAM-SHA-512
existed:
  description: Whether the user had a credential of RV(mechanism) before the task.
  returned: always
  type: bool
  sample: true
password_changed:
  description: Whether the credential was written (created or its password or iterations set).
  returned: always
  type: bool
  sample: false
reason:
  description: Why the credential was or was not written.
  returned: always
  type: str
  sample: the password logs in
mechanisms:
  description: Iterations per mechanism of the user's credentials after the task.
  returned: always
  type: dict
  sample: {"SCRAM-SHA-512": 8192}
"""

import re
import time

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.kafka import (
    KafkaAdmin,
    KafkaModuleError,
    connection_argument_spec,
    run_module,
    uses_sasl,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import MASK

SCRAM_MECHANISMS = ["SCRAM-SHA-512", "SCRAM-SHA-256"]
# Kafka refuses SCRAM iterations outside this range (ScramFormatter / AlterUserScramCredentials).
SCRAM_MIN_ITERATIONS = 4096
SCRAM_MAX_ITERATIONS = 16384
LOGIN_RETRY_S = 0.5


def validate_scram_args(name, password, mechanism, iterations, state):
    if not name or not str(name).strip():
        raise KafkaModuleError("name is empty: give the SCRAM user name")
    if re.search(r"[\x00-\x1f\x7f]", str(name)) or str(name) != str(name).strip():
        raise KafkaModuleError(
            "name %r has a control character or spaces around it: give the SCRAM user name exactly, without them" % name
        )
    if iterations < SCRAM_MIN_ITERATIONS:
        raise KafkaModuleError(
            "iterations %d is too low: Kafka refuses fewer than %d SCRAM iterations (use the default 8192)"
            % (iterations, SCRAM_MIN_ITERATIONS)
        )
    if iterations > SCRAM_MAX_ITERATIONS:
        raise KafkaModuleError(
            "iterations %d is too high: Kafka accepts at most %d" % (iterations, SCRAM_MAX_ITERATIONS)
        )
    if mechanism not in SCRAM_MECHANISMS:
        raise KafkaModuleError("mechanism %r is not one of %s" % (mechanism, ", ".join(SCRAM_MECHANISMS)))
    if state == "present" and not password:
        raise KafkaModuleError("password is required with state=present (the user's SCRAM password)")


def scram_plan(credentials, mechanism, iterations, state, update_password, password_matches=None):  # noqa: PLR0911
    """What to do with one user's credential: (action, reason); action is None, "create", "update" or "delete".

    credentials: {mechanism: iterations} as described. password_matches: a callable asked only
    for update_password=on_mismatch when the credential exists (the login probe).
    """
    existing = credentials.get(mechanism)
    if state == "absent":
        return ("delete", "the %s credential exists" % mechanism) if existing is not None else (None, "absent")
    if existing is None:
        return "create", "no %s credential" % mechanism
    if update_password == "always":  # noqa: S105 - a choice, not a password
        return "update", "update_password=always"
    if update_password == "on_create":  # noqa: S105 - a choice, not a password
        return None, "exists (update_password=on_create never changes it)"
    if existing != iterations:
        return "update", "iterations %d differ from %d" % (existing, iterations)
    if password_matches is not None and not password_matches():
        return "update", "the password does not log in"
    return None, "the password logs in"


def login_works(params):
    """Whether name/password log in (same brokers and TLS, the credential's mechanism)."""
    if not uses_sasl(params):
        raise KafkaModuleError(
            "update_password=on_mismatch tests the password by logging in as %s, which needs a SASL listener "
            "(security_protocol %s has no login): use update_password=always or on_create"
            % (params["name"], params["security_protocol"])
        )
    probe_params = dict(params, sasl_mechanism=params["mechanism"])
    try:
        return KafkaAdmin(probe_params, username=params["name"], password=params["password"]).login_succeeds()
    except KafkaModuleError as exc:
        raise KafkaModuleError(
            "could not test the password of %s (update_password=on_mismatch): %s; or set update_password to "
            "always or on_create" % (params["name"], exc)
        ) from exc


def wait_for_login(module):
    """After a write: wait (bounded) until every broker the probe reaches accepts the new password."""
    deadline = time.monotonic() + module.params["request_timeout"]
    while time.monotonic() < deadline:
        try:
            if login_works(module.params):
                return
        except KafkaModuleError as exc:
            module.warn("the password of %s was stored but could not be tested: %s" % (module.params["name"], exc))
            return
        time.sleep(LOGIN_RETRY_S)
    module.warn(
        "the new password of %s was stored but a login with it was still refused after %ss; the brokers may "
        "not have applied it yet" % (module.params["name"], module.params["request_timeout"])
    )


def run(module, admin):
    params = module.params
    name, mechanism, iterations = params["name"], params["mechanism"], params["iterations"]
    validate_scram_args(name, params["password"], mechanism, iterations, params["state"])
    credentials = admin.scram_credentials(name)

    def password_matches():  # asked only when the credential exists and update_password=on_mismatch
        return login_works(params)

    action, reason = scram_plan(
        credentials, mechanism, iterations, params["state"], params["update_password"], password_matches
    )

    after = dict(credentials)
    if action == "delete":
        after.pop(mechanism, None)
    elif action in ("create", "update"):
        after[mechanism] = iterations
    result = {
        "changed": action is not None,
        "name": name,
        "mechanism": mechanism,
        "existed": mechanism in credentials,
        "password_changed": action in ("create", "update"),
        "reason": reason,
        "mechanisms": dict(sorted(after.items())),
    }
    if action is None:
        return result

    before_view = {"name": name, "mechanisms": dict(sorted(credentials.items()))}
    after_view = {"name": name, "mechanisms": dict(sorted(after.items()))}
    if mechanism in credentials:
        before_view["password"] = MASK
    if action != "delete":
        after_view["password"] = MASK + (" (new)" if action == "create" else " (set again)")
    result["diff"] = {"before": before_view, "after": after_view}
    if module.check_mode:
        return result
    if action == "delete":
        admin.delete_scram(name, mechanism)
    else:
        admin.upsert_scram(name, mechanism, iterations, params["password"])
        if params["update_password"] == "on_mismatch":  # noqa: S105 - a choice, not a password
            wait_for_login(module)
    return result


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        password=dict(type="str", no_log=True),
        mechanism=dict(type="str", choices=SCRAM_MECHANISMS, default="SCRAM-SHA-512"),
        iterations=dict(type="int", default=8192),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        update_password=dict(
            type="str", choices=["on_mismatch", "always", "on_create"], default="on_mismatch", no_log=False
        ),
    )
    module = SecretSafeModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["password"])],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
