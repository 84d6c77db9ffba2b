#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vault_unseal
short_description: Unseal one Vault/OpenBao node with the key shares
version_added: 0.1.0
description:
  - Reads C(sys/seal-status). An unsealed node is left alone (no change).
  - A sealed node gets key shares until it is unsealed. The first share is sent with C(reset=true)
    so partial progress left by someone else cannot mix with ours.
  - Shares that do not unseal the node (another cluster's, or corrupt) fail with one message, and
    the partial progress is reset.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.vault
attributes:
  check_mode:
    support: full
    description: Reports whether the node would be unsealed; sends no key.
  diff_mode:
    support: none
    description: Nothing to compare; keys are never shown.
options:
  keys_file:
    description:
      - The keys file written by M(cdc.pipeline.vault_init) (on the controller).
      - When its shares are PGP-encrypted the module refuses; decrypt them and pass O(keys).
      - Exactly one of O(keys_file) and O(keys) is required.
    type: path
  keys:
    description:
      - Unseal key shares (hex or base64), for example from an AWX credential or a vars prompt.
      - At least the threshold number of shares is needed.
    type: list
    elements: str
seealso:
  - module: cdc.pipeline.vault_init
"""

EXAMPLES = r"""
- name: Unseal every OpenBao node with the keys file from vault_init
  cdc.pipeline.vault_unseal:
    url: "https://{{ cdc_address }}:8200"
    ca_cert: /etc/cdc/vault-ca.pem
    keys_file: "{{ playbook_dir }}/../.secrets/vault-init.json"
  delegate_to: localhost

- name: Unseal with shares from an AWX credential (PGP-encrypted keys file)
  cdc.pipeline.vault_unseal:
    url: "https://{{ cdc_address }}:8200"
    ca_cert: /etc/cdc/vault-ca.pem
    keys: "{{ vault_unseal_keys }}"
  delegate_to: localhost
  no_log: true
"""

RETURN = r"""
sealed:
  description: Whether the node is sealed after the task (in check mode, still the current state).
  returned: always
  type: bool
  sample: false
progress:
  description: Shares accepted towards the current unseal (0 once unsealed).
  returned: always
  type: int
  sample: 0
threshold:
  description: Shares needed to unseal.
  returned: always
  type: int
  sample: 3
"""

import json
import time

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    VaultError,
    connection_argument_spec,
    run_module,
    uninitialised_message,
)


def read_keys_file(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError) as exc:
        raise VaultError("cannot read keys_file %s: %s" % (path, exc)) from exc
    except ValueError as exc:
        raise VaultError("keys_file %s is not the JSON written by vault_init: %s" % (path, exc)) from exc


def load_keys(params):
    if params["keys"]:
        return [key for key in params["keys"] if key]
    path = params["keys_file"]
    content = read_keys_file(path)
    if content.get("pgp_encrypted"):
        raise VaultError(
            "the shares in %s are PGP-encrypted: decrypt them (gpg --decrypt) and pass them as keys, for example "
            "from an AWX credential or a vars prompt" % path
        )
    return content.get("keys_base64") or content.get("keys") or []


def seal_result(status, changed):
    return {
        "changed": changed,
        "sealed": bool(status.get("sealed")),
        "progress": int(status.get("progress") or 0),
        "threshold": int(status.get("t") or 0),
    }


def submit(vault, keys, threshold):
    """Send shares until the node unseals; on failure reset the progress and say why."""
    try:
        for index, key in enumerate(keys):
            body = {"key": key, "reset": True} if index == 0 else {"key": key}
            status = vault.request("PUT", "sys/unseal", data=body) or {}
            if not status.get("sealed", True):
                return status
            if index + 1 >= threshold and not status.get("progress"):
                break  # threshold consumed: a joining raft follower finishes unsealing on its own
        status = wait_unsealed(vault)
    except VaultError as exc:
        _reset(vault)
        raise VaultError(
            "Vault at %s refused an unseal key (%s): the keys belong to another cluster or are corrupt; use the "
            "keys_file written by vault_init for this cluster" % (vault.url, exc)
        ) from exc
    if not status.get("sealed", True):
        return status
    _reset(vault)
    raise VaultError(
        "Vault at %s is still sealed after %d shares (threshold %d): the shares do not belong to this cluster "
        "or are duplicates; use the keys_file written by vault_init for this cluster"
        % (vault.url, len(keys), threshold)
    )


def wait_unsealed(vault):
    # A raft follower that joins while unsealing reports sealed for a moment after the last share.
    deadline = time.monotonic() + vault.timeout
    while True:
        status = vault.request("GET", "sys/seal-status") or {}
        if not status.get("sealed", True) or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def _reset(vault):
    try:
        vault.request("PUT", "sys/unseal", data={"reset": True})
    except VaultError:
        pass  # best effort: the error that brought us here is the one to report


def run(module, vault):
    status = vault.request("GET", "sys/seal-status") or {}
    if not status.get("initialized"):
        raise VaultError(
            uninitialised_message(vault.url) + " (a raft follower also reports this until retry_join reaches the "
            "leader: check its retry_join settings and retry)"
        )
    if not status.get("sealed"):
        # Nothing to do: the shares are not needed (and may not be on this controller at all).
        return seal_result(status, changed=False)
    keys = load_keys(module.params)
    threshold = int(status.get("t") or 0)
    if len(keys) < threshold:
        raise VaultError(
            "%d unseal key(s) given but Vault at %s needs %d: pass at least the threshold number of shares"
            % (len(keys), vault.url, threshold)
        )
    if module.check_mode:
        return seal_result(status, changed=True)
    return seal_result(submit(vault, keys, threshold), changed=True)


def main():
    argument_spec = connection_argument_spec(with_token=False)
    argument_spec.update(
        keys_file=dict(type="path"),
        keys=dict(type="list", elements="str", no_log=True),
    )
    module = SecretSafeModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("keys_file", "keys")],
        required_one_of=[("keys_file", "keys")],
    )
    run_module(module, run, need_token=False)


if __name__ == "__main__":
    main()
