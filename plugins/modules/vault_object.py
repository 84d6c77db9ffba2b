#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vault_object
short_description: Write a Vault/OpenBao configuration object only when it differs
version_added: 0.1.0
description:
  - The idempotent write that C(community.hashi_vault.vault_write) lacks. Reads O(path), compares every
    key of O(data) with what Vault returns, and writes only when something differs or the object is absent.
  - Values are compared the way Vault reads them back. Durations match in seconds (C(72h), C(259200)),
    booleans and numbers match their string forms, a list matches a comma-separated string (lists of
    scalars in any order), and multi-line strings (policy HCL) match after trailing whitespace is removed.
  - Keys that Vault does not return at all (write-only parameters such as C(verify_connection)) are
    written on create and with any other change, but do not trigger a write; they are returned in RV(uncompared_keys).
  - O(path) is refused before any request when the store would read it as another path - C(..), C(.) or
    empty segments, control characters, blanks around a segment, or one of C(%) C(?) C(#) and the backslash.
  - Typical paths are C(sys/policies/acl/<name>), C(auth/approle/role/<name>), C(<pki mount>/roles/<name>),
    C(database/config/<name>) and C(database/static-roles/<name>).
  - Secret values (O(secret_data), and keys named like C(password), C(secret), C(token), C(private_key),
    C(pem_bundle)) are shown as C(********) in diffs and never returned, also not in the C(invocation) of a
    failed task (a O(data) that is not a dictionary is hidden whole).
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.vault
  - cdc.pipeline.vault.token
attributes:
  check_mode:
    support: full
    description: Reads and compares, writes nothing.
  diff_mode:
    support: full
    description: The compared keys before and after, secrets masked.
options:
  path:
    description:
      - API path of the object, without C(/v1/) (for example C(auth/approle/role/kafka-connect)).
    type: str
    required: true
  data:
    description:
      - Values of the object. Each key is compared with the value Vault returns.
    type: dict
    default: {}
  secret_data:
    description:
      - Write-only values (a database password, a secret ID) merged into every write. Vault does not return
        them, so they are never compared; see O(update_secret_data).
    type: dict
  update_secret_data:
    description:
      - C(on_create) sends O(secret_data) when the object is created or something in O(data) changed.
      - C(always) writes on every run when O(secret_data) is given (the task then always reports a change).
    type: str
    choices: [on_create, always]
    default: on_create
  nested_read_keys:
    description:
      - Sub-dictionaries of the read response whose items count as top-level keys for the comparison,
        for example C(connection_details) for C(database/config/<name>), which returns C(connection_url)
        and C(username) inside it.
    type: list
    elements: str
    default: []
  state:
    description:
      - C(present) writes the object when it differs, C(absent) deletes it when it exists.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: ACL policy for the Connect workers
  cdc.pipeline.vault_object:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    path: sys/policies/acl/kafka-connect
    data:
      policy: "{{ lookup('ansible.builtin.template', 'kafka-connect.hcl.j2') }}"
  delegate_to: localhost

- name: AppRole role of the Connect workers
  cdc.pipeline.vault_object:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    path: auth/approle/role/kafka-connect
    data:
      token_policies: [kafka-connect]
      token_ttl: 1h
      token_max_ttl: 4h
      secret_id_ttl: 720h
  delegate_to: localhost

- name: PostgreSQL connection of the database engine (password write-only)
  cdc.pipeline.vault_object:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    path: database/config/sink
    data:
      plugin_name: postgresql-database-plugin
      connection_url: "postgresql://{{ '{{' }}username{{ '}}' }}:{{ '{{' }}password{{ '}}' }}@pg-1:5432/sink"
      username: vault_admin
      allowed_roles: [jdbc-sink]
      verify_connection: true
    secret_data:
      password: "{{ vault_pg_admin_password }}"
    nested_read_keys: [connection_details]
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The path written or compared.
  returned: always
  type: str
  sample: auth/approle/role/kafka-connect
existed:
  description: Whether the object existed before the task.
  returned: always
  type: bool
  sample: true
changed_keys:
  description: Keys of O(data) whose value differed (all of them when the object was created).
  returned: always
  type: list
  elements: str
  sample: [token_ttl]
uncompared_keys:
  description: Keys of O(data) that Vault does not return, so they cannot be compared (write-only).
  returned: always
  type: list
  elements: str
  sample: [verify_connection]
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SHORTEST_HIDDEN, SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    changed_keys,
    connection_argument_spec,
    run_module,
    store_path,
)
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import MASK, mask_secrets


def read_object(vault, path, nested_keys):
    """The object's values as a flat dict, or None when Vault has nothing at path."""
    answer = vault.read(path)
    if answer is None:
        return None
    current = dict(answer.get("data") or {})
    for key in nested_keys:
        nested = current.get(key)
        if isinstance(nested, dict):
            for name, value in nested.items():
                current.setdefault(name, value)
    return current


def build_diff(data, secret_data, current):
    secret_keys = set(secret_data)
    before = {}
    if current is not None:
        before = dict((key, current.get(key)) for key in data if key in current)
        before.update((key, MASK) for key in secret_keys)  # unknown, but present on the object
    after = dict(data)
    after.update((key, MASK) for key in secret_keys)
    return {"before": mask_secrets(before, secret_keys), "after": mask_secrets(after, secret_keys)}


def run(module, vault):
    params = module.params
    path = store_path(params["path"])
    data = params["data"] or {}
    secret_data = params["secret_data"] or {}
    result = {"changed": False, "path": path, "changed_keys": [], "uncompared_keys": []}

    vault.preflight()
    current = read_object(vault, path, params["nested_read_keys"])
    result["existed"] = current is not None

    if params["state"] == "absent":
        if current is not None:
            result.update(changed=True, diff={"before": mask_secrets(current), "after": {}})
            if not module.check_mode:
                vault.delete(path)
        return result

    if current is None:
        result["changed_keys"] = sorted(data)
        write = True
    else:
        result["changed_keys"] = changed_keys(data, current, skip_missing=True)
        result["uncompared_keys"] = sorted(key for key in data if key not in current)
        always = params["update_secret_data"] == "always"  # noqa: S105 - a choice, not a password
        write = bool(result["changed_keys"]) or (always and bool(secret_data))
    if not write:
        return result

    result.update(changed=True, diff=build_diff(data, secret_data, current))
    if not module.check_mode:
        body = dict(data)
        body.update(secret_data)
        vault.write(path, body)
    return result


class ObjectModule(SecretSafeModule):
    """A SecretSafeModule that also hides data when it is not a dict: malformed, nothing says which part is secret."""

    def _hide_secret_arguments(self):
        super(ObjectModule, self)._hide_secret_arguments()
        data = (getattr(self, "params", None) or {}).get("data")
        if data is not None and not isinstance(data, dict):
            self.no_log_values.update(text for text in _texts(data) if len(text) >= SHORTEST_HIDDEN)


def _texts(value):
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, bool) or value is None:
        return []
    return [str(value)]


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        path=dict(type="str", required=True),
        data=dict(type="dict", default={}),
        secret_data=dict(type="dict", no_log=True),
        update_secret_data=dict(type="str", choices=["on_create", "always"], default="on_create"),
        nested_read_keys=dict(type="list", elements="str", default=[], no_log=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = ObjectModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
