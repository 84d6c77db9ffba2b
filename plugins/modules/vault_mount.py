#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vault_mount
short_description: Enable, tune or disable a Vault/OpenBao secrets engine or auth method idempotently
version_added: 0.1.0
description:
  - Reads C(sys/mounts) (or C(sys/auth)) and enables the engine at O(path) when it is missing, tunes it
    when its description, options or config differ, and disables it with O(state=absent).
  - Durations are compared in seconds (C(72h) equals C(259200)) and options as strings (Vault
    reads C(version=2) back as C("2")).
  - An existing mount of another type is never replaced (that needs a data migration), so the module fails.
  - O(path) is refused before any request when the store would read it as another path - C(..), C(.) or
    empty segments, control characters, blanks around a segment, or one of C(%) C(?) C(#) and the backslash.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.vault
  - cdc.pipeline.vault.token
attributes:
  check_mode:
    support: full
    description: Predicts the change from the current mount table; writes nothing.
  diff_mode:
    support: full
    description: Shows the mount's type, description, options and the wanted config keys before and after.
options:
  path:
    description:
      - Mount path, without slashes (for example C(cdc), C(pki_int), C(approle)).
    type: str
    required: true
  type:
    description:
      - Engine or auth method type (C(kv), C(kv-v2), C(pki), C(database), C(approle), ...).
      - Required with O(state=present). C(kv-v2) is C(kv) with O(options) C(version=2).
    type: str
  kind:
    description:
      - Whether O(path) is a secrets engine (C(sys/mounts)) or an auth method (C(sys/auth)).
    type: str
    choices: [secret, auth]
    default: secret
  description:
    description:
      - Human-readable description of the mount. Left as it is when not given.
    type: str
  options:
    description:
      - Engine options, for example C(version=2) for KV v2. Only the given keys are compared.
    type: dict
  config:
    description:
      - Tune parameters (C(default_lease_ttl), C(max_lease_ttl), C(audit_non_hmac_request_keys),
        C(listing_visibility), ...). Only the given keys are compared.
    type: dict
  state:
    description:
      - C(present) enables or tunes the mount, C(absent) disables it (and destroys its data).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: KV v2 engine for the pipeline's secrets
  cdc.pipeline.vault_mount:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    path: cdc
    type: kv
    options:
      version: 2
  delegate_to: localhost

- name: Intermediate PKI with a 5-year ceiling
  cdc.pipeline.vault_mount:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    path: pki_int
    type: pki
    config:
      max_lease_ttl: 43800h
  delegate_to: localhost

- name: AppRole auth method
  cdc.pipeline.vault_mount:
    url: "{{ cdc_vault_url }}"
    ca_cert: "{{ cdc_vault_ca_cert }}"
    token: "{{ cdc_vault_token }}"
    path: approle
    type: approle
    kind: auth
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The mount path (without slashes).
  returned: always
  type: str
  sample: cdc
kind:
  description: C(secret) or C(auth).
  returned: always
  type: str
  sample: secret
existed:
  description: Whether the mount existed before the task.
  returned: always
  type: bool
  sample: false
changed_keys:
  description: What differed (C(description), C(options.<key>), C(config.<key>)); empty when created or unchanged.
  returned: always
  type: list
  elements: str
  sample: [config.max_lease_ttl]
"""

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    VaultError,
    changed_keys,
    connection_argument_spec,
    run_module,
    store_path,
)


def options_as_strings(options):
    """Mount options as Vault returns them: {"version": 2} is read back as {"version": "2"}."""
    return dict((key, str(value).lower() if isinstance(value, bool) else str(value)) for key, value in options.items())


def wanted_mount(params):
    """Type and options as Vault stores them: kv-v2 is kv with version 2."""
    mount_type = params["type"]
    options = options_as_strings(params["options"] or {})
    if mount_type == "kv-v2":
        mount_type = "kv"
        options.setdefault("version", "2")
    return mount_type, options


def differences(params, options, existing):
    diff = []
    if params["description"] is not None and params["description"] != (existing.get("description") or ""):
        diff.append("description")
    diff += ["options." + key for key in changed_keys(options, existing.get("options") or {})]
    diff += ["config." + key for key in changed_keys(params["config"] or {}, existing.get("config") or {})]
    return diff


def state_view(mount_type, description, options, config):
    return {"type": mount_type, "description": description or "", "options": options, "config": config}


def run(module, vault):
    params = module.params
    path = store_path(params["path"])
    base = "sys/auth" if params["kind"] == "auth" else "sys/mounts"
    result = {"changed": False, "path": path, "kind": params["kind"], "changed_keys": []}

    vault.preflight()
    listing = vault.request("GET", base) or {}
    existing = (listing.get("data") or listing).get(path + "/")
    result["existed"] = existing is not None

    if params["state"] == "absent":
        if existing:
            result.update(changed=True, diff={"before": {"path": path, "type": existing.get("type")}, "after": {}})
            if not module.check_mode:
                vault.delete("%s/%s" % (base, path))
        return result

    mount_type, options = wanted_mount(params)
    config = params["config"] or {}
    after = state_view(mount_type, params["description"], options, config)
    if existing is None:
        result.update(changed=True, diff={"before": {}, "after": after})
        if not module.check_mode:
            body = {"type": mount_type, "description": params["description"] or "", "config": config}
            if options:
                body["options"] = options
            vault.write("%s/%s" % (base, path), body)
        return result

    if existing.get("type") != mount_type:
        raise VaultError(
            "%s/%s is already a %s mount, not %s: changing the type needs a new mount and a data migration "
            "(enable %s on another path, move the data, then disable the old one); nothing was changed"
            % (base, path, existing.get("type"), mount_type, mount_type)
        )
    result["changed_keys"] = differences(params, options, existing)
    if not result["changed_keys"]:
        return result
    before_config = dict((key, (existing.get("config") or {}).get(key)) for key in config)
    before_options = dict((key, (existing.get("options") or {}).get(key)) for key in options)
    before = state_view(existing.get("type"), existing.get("description"), before_options, before_config)
    if params["description"] is None:
        after["description"] = before["description"]
    result.update(changed=True, diff={"before": before, "after": after})
    if not module.check_mode:
        vault.write("%s/%s/tune" % (base, path), tune_body(params, options, config))
    return result


def tune_body(params, options, config):
    body = dict(config)
    if params["description"] is not None:
        body["description"] = params["description"]
    if options:
        body["options"] = options
    return body


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        path=dict(type="str", required=True),
        type=dict(type="str"),
        kind=dict(type="str", choices=["secret", "auth"], default="secret"),
        description=dict(type="str"),
        options=dict(type="dict"),
        config=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = SecretSafeModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("type",))],
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
