#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vault_init
short_description: Initialise a Vault/OpenBao cluster once and keep its unseal keys in a 0600 file
version_added: 0.1.0
description:
  - Reads C(sys/init). An initialised cluster is left alone (no change).
  - An uninitialised cluster is initialised with C(sys/init); the unseal key shares and the root
    token are written to O(keys_file) on the controller, created with mode 0600 and never overwritten.
  - Refuses, before initialising anything, when O(keys_file) already holds data (it belongs to another
    cluster), is a symbolic link, or its directory is missing or not writable, so keys are never lost.
  - Before C(sys/init) the keys file is proven writable - a 0600 temporary file in its directory is
    created and the room the keys need is written and synced (a full disk fails here), and the final
    name is proven creatable. After C(sys/init) the keys are written over that reservation, synced, and
    linked to O(keys_file) in one step, so the file is either complete or absent.
  - O(secret_shares) and O(secret_threshold) are checked (1 to 255, threshold at most the shares)
    before anything is sent.
  - The keys and the root token are never returned.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
extends_documentation_fragment:
  - cdc.pipeline.vault
attributes:
  check_mode:
    support: full
    description: Reports whether the cluster would be initialised; writes nothing.
  diff_mode:
    support: none
    description: Nothing to compare; the keys file is never shown.
options:
  secret_shares:
    description:
      - Number of unseal key shares.
    type: int
    default: 5
  secret_threshold:
    description:
      - Number of shares needed to unseal. Must be at most O(secret_shares), and above 1 when there
        are several shares.
    type: int
    default: 3
  pgp_keys:
    description:
      - Base64-encoded PGP public keys, one per share (the list length must equal O(secret_shares)).
        Each share is then encrypted to its key holder and the keys file holds only ciphertext.
    type: list
    elements: str
  root_token_pgp_key:
    description:
      - Base64-encoded PGP public key to encrypt the root token with.
    type: str
  keys_file:
    description:
      - File on the controller that receives the shares and the root token (JSON, mode 0600).
      - Its directory must exist. An existing non-empty file is never overwritten.
    type: path
    required: true
seealso:
  - module: cdc.pipeline.vault_unseal
"""

EXAMPLES = r"""
- name: Initialise the OpenBao cluster (first node)
  cdc.pipeline.vault_init:
    url: https://10.213.40.51:8200
    ca_cert: /etc/cdc/vault-ca.pem
    secret_shares: 5
    secret_threshold: 3
    keys_file: "{{ playbook_dir }}/../.secrets/vault-init.json"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
initialized:
  description: Whether the cluster is initialised after the task (in check mode, as it would be).
  returned: always
  type: bool
  sample: true
keys_file:
  description: Path of the keys file.
  returned: always
  type: str
  sample: /home/ops/.secrets/vault-init.json
keys_file_present:
  description: Whether the keys file exists and holds data (the cluster was already initialised).
  returned: when the cluster was already initialised
  type: bool
  sample: true
pgp_encrypted:
  description: Whether the shares in the keys file are PGP-encrypted.
  returned: when the cluster was initialised by this task (or would be, in check mode)
  type: bool
  sample: false
"""

import datetime
import json
import os
import tempfile

from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import SecretSafeModule
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    VaultError,
    connection_argument_spec,
    run_module,
)


# Vault's Shamir split takes at most 255 shares.
MAX_SHARES = 255
TMP_PREFIX = ".vault-init-"


def check_keys_file_target(path):
    """Refuse before init: an existing non-empty file belongs to another cluster; the dir must be writable."""
    if os.path.islink(path):
        raise VaultError("keys_file %s is a symbolic link: give the real path of the file to create" % path)
    if os.path.isdir(path):
        raise VaultError("keys_file %s is a directory: give a file path" % path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise VaultError("keys_file %s exists and is not a regular file: give a new file path" % path)
    if os.path.exists(path) and os.path.getsize(path) > 0:
        raise VaultError(
            "keys_file %s already exists but this Vault is not initialised: it belongs to another cluster. "
            "Move it away (never overwrite unseal keys) and run again" % path
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise VaultError("the directory of keys_file %s does not exist: create it (mode 0700) first" % path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise VaultError("the directory of keys_file %s is not writable by this user: fix its permissions" % path)


def content_size(params):
    """Bytes the keys file will take at most (PGP ciphertext is never longer than the public key plus 1 KiB)."""
    per_share = max([len(key) for key in params["pgp_keys"] or []] + [0]) + 1024
    return 4096 + params["secret_shares"] * per_share + len(params["root_token_pgp_key"] or "") + 1024


class KeysFile:
    """The keys file, proven writable BEFORE the cluster is initialised and written atomically after.

    reserve() creates a 0600 temporary file in the keys file's directory and allocates the room the
    content needs (written and synced, so a full disk fails here), and proves the final name can be
    created (a hard link, removed at once). commit() overwrites the reservation with the content,
    syncs it and links it to the final name (never replacing a non-empty file). Only then is the
    temporary name removed: should that last step fail, the keys stay in the temporary file.
    """

    def __init__(self, path, size):
        self.path = path
        self.size = size
        self.directory = os.path.dirname(os.path.abspath(path))
        self.fd = None
        self.tmp = None

    def reserve(self, check=True):
        if check:
            check_keys_file_target(self.path)
        try:
            self.fd, self.tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=self.directory)
            os.fchmod(self.fd, 0o600)
            _write_all(self.fd, b" " * self.size)
            os.fsync(self.fd)
            if not os.path.exists(self.path):  # an empty placeholder proves the name already
                os.link(self.tmp, self.path)
                os.unlink(self.path)
        except (IOError, OSError) as exc:
            self.abandon()
            raise VaultError(
                "keys_file %s cannot be written (%s): free space or fix the permissions of %s, or give another "
                "path; nothing was initialised" % (self.path, exc.strerror or exc, self.directory)
            ) from exc

    def commit(self, content):
        data = (json.dumps(content, indent=2, sort_keys=True) + "\n").encode()
        try:
            os.lseek(self.fd, 0, os.SEEK_SET)
            _write_all(self.fd, data)
            os.ftruncate(self.fd, len(data))
            os.fsync(self.fd)
        except (IOError, OSError) as exc:
            raise OSError("%s (writing %s)" % (exc.strerror or exc, self.tmp)) from exc
        os.close(self.fd)
        self.fd = None
        if os.path.exists(self.path) and not os.path.islink(self.path) and os.path.getsize(self.path) == 0:
            os.unlink(self.path)  # an empty placeholder (e.g. touched by a playbook) carries nothing
        os.link(self.tmp, self.path)  # fails if the path appeared meanwhile: never overwrite
        os.unlink(self.tmp)
        self.tmp = None
        _sync_directory(self.directory)

    def abandon(self):
        """Remove the reservation (the cluster was not initialised)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.tmp is not None and os.path.exists(self.tmp):
            os.unlink(self.tmp)
        self.tmp = None


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the file itself is synced
    finally:
        os.close(fd)


def write_keys_file(path, content):
    """Write JSON content to path, mode 0600 from the first byte, never replacing a non-empty file."""
    keys_file = KeysFile(path, 0)
    try:
        keys_file.reserve(check=False)
    except VaultError as exc:
        # The caller handles file system errors (OSError); reserve() reports them as VaultError.
        raise OSError(str(exc)) from exc
    try:
        keys_file.commit(content)
    finally:
        keys_file.abandon()


def validate(params):
    shares, threshold = params["secret_shares"], params["secret_threshold"]
    if shares > MAX_SHARES:
        raise VaultError(
            "secret_shares %d is more than Vault can split a key into: use at most %d" % (shares, MAX_SHARES)
        )
    if shares < 1 or threshold < 1 or threshold > shares:
        raise VaultError("secret_threshold (%d) must be between 1 and secret_shares (%d)" % (threshold, shares))
    if shares > 1 and threshold == 1:
        raise VaultError("secret_threshold must be at least 2 when there are several shares (Vault refuses 1)")
    if params["pgp_keys"] and len(params["pgp_keys"]) != shares:
        raise VaultError(
            "pgp_keys has %d keys but secret_shares is %d: give exactly one public key per share"
            % (len(params["pgp_keys"]), shares)
        )


def init_request(params):
    body = {"secret_shares": params["secret_shares"], "secret_threshold": params["secret_threshold"]}
    if params["pgp_keys"]:
        body["pgp_keys"] = params["pgp_keys"]
    if params["root_token_pgp_key"]:
        body["root_token_pgp_key"] = params["root_token_pgp_key"]
    return body


def run(module, vault):
    params = module.params
    keys_file = params["keys_file"]
    result = {"changed": False, "keys_file": keys_file}
    validate(params)
    status = vault.request("GET", "sys/init") or {}
    if status.get("initialized"):
        present = os.path.isfile(keys_file) and os.path.getsize(keys_file) > 0
        result.update(initialized=True, keys_file_present=present)
        return result

    check_keys_file_target(keys_file)  # before init: a refusal afterwards would lose the keys
    result.update(changed=True, initialized=True, pgp_encrypted=bool(params["pgp_keys"]))
    if module.check_mode:
        return result

    reservation = KeysFile(keys_file, content_size(params))
    reservation.reserve()  # proven writable, with its room allocated, before anything is initialised
    try:
        answer = vault.request("PUT", "sys/init", data=init_request(params)) or {}
    except VaultError:
        reservation.abandon()
        raise
    content = {
        "keys": answer.get("keys", []),
        "keys_base64": answer.get("keys_base64", []),
        "root_token": answer.get("root_token", ""),
        "pgp_encrypted": bool(params["pgp_keys"]),
        # The root token is encrypted only when root_token_pgp_key was given, whatever the shares are.
        "root_token_pgp_encrypted": bool(params["root_token_pgp_key"]),
        "secret_shares": params["secret_shares"],
        "secret_threshold": params["secret_threshold"],
        "initialized_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": vault.url,
    }
    try:
        reservation.commit(content)
    except (IOError, OSError) as exc:
        if reservation.tmp is not None and reservation.fd is None:
            raise VaultError(
                "Vault at %s is now INITIALISED and its keys are in %s (mode 0600), but they could not be moved "
                "to keys_file %s (%s): move that file there by hand before anything else"
                % (vault.url, reservation.tmp, keys_file, exc)
            ) from exc
        raise VaultError(
            "Vault at %s is now INITIALISED but the keys could not be written to %s (%s): the shares and root "
            "token are lost; wipe the cluster's storage and initialise again" % (vault.url, keys_file, exc)
        ) from exc
    return result


def main():
    argument_spec = connection_argument_spec(with_token=False)
    argument_spec.update(
        secret_shares=dict(type="int", default=5, no_log=False),
        secret_threshold=dict(type="int", default=3, no_log=False),
        pgp_keys=dict(type="list", elements="str", no_log=False),  # public keys, not secrets
        root_token_pgp_key=dict(type="str", no_log=False),  # a public key
        keys_file=dict(type="path", required=True),
    )
    module = SecretSafeModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, run, need_token=False)


if __name__ == "__main__":
    main()
