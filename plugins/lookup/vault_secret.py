# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants every import below DOCUMENTATION, EXAMPLES and RETURN

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: vault_secret
short_description: Read a value from Vault/OpenBao KV v2, generating and storing it on first use
version_added: 0.1.0
description:
  - Returns the value of O(key) at each path (term) in the KV v2 engine O(mount).
  - With O(create=true), a path or key that does not exist yet gets a random value of O(length) characters
    from C([A-Za-z0-9]) (safe unquoted in properties files, JAAS configs and URLs), stored with
    check-and-set, so parallel forks cannot both create it. The loser of a race returns the winner's value.
  - In check mode nothing is written. A value that O(create=true) would generate is generated and returned, so
    the run can go on predicting, but it is not stored (the real run stores its own); C(-v) names each such path.
  - The value is never logged. Use it with C(no_log) on tasks that show it.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
options:
  _terms:
    description: Secret paths inside the mount (for example C(kafka/scram/connect)).
    type: list
    elements: str
    required: true
  key:
    description: Key of the value inside the secret.
    type: str
    default: value
  create:
    description: Generate and store the value when the path or the key does not exist.
    type: bool
    default: false
  length:
    description: Length of a generated value (at least 16).
    type: int
    default: 32
  mount:
    description: Path of the KV v2 engine.
    type: str
    default: cdc
    vars:
      - name: cdc_vault_kv_mount
  url:
    description: Address of the Vault/OpenBao API, for example C(https://10.213.40.51:8200).
    type: str
    required: true
    vars:
      - name: cdc_vault_url
    env:
      - name: VAULT_ADDR
  ca_cert:
    description: CA bundle (PEM) that signed the listener certificate.
    type: str
    vars:
      - name: cdc_vault_ca_cert
    env:
      - name: VAULT_CACERT
  token:
    description: Vault token with read (and, for O(create), create/update) on the paths.
    type: str
    vars:
      - name: cdc_vault_token
    env:
      - name: VAULT_TOKEN
  validate_certs:
    description: Verify the listener certificate.
    type: bool
    default: true
    vars:
      - name: cdc_vault_validate_certs
  client_cert:
    description: Client certificate (PEM) for mutual TLS.
    type: str
  client_key:
    description: Private key of O(client_cert).
    type: str
  timeout:
    description: Seconds to wait for each request.
    type: int
    default: 30
requirements:
  - hvac >= 2.0
seealso:
  - module: cdc.pipeline.vault_mount
"""

EXAMPLES = r"""
- name: SCRAM password of the Connect workers, created on first run
  ansible.builtin.set_fact:
    connect_password: "{{ lookup('cdc.pipeline.vault_secret', 'kafka/scram/connect', key='password', create=true) }}"
  no_log: true

- name: Several at once (a list, in the order of the paths)
  ansible.builtin.set_fact:
    passwords: "{{ query('cdc.pipeline.vault_secret', 'pg/sink', 'pg/replication', key='password', create=true) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The value of O(key) at each path.
  type: list
  elements: str
"""

import os
import secrets
import string

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import (
    HAS_HVAC,
    Vault,
    VaultError,
    store_path,
)

PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_MIN_LENGTH = 16
CAS_ATTEMPTS = 3


def generate_password(length=32):
    """A random password over [A-Za-z0-9]: safe unquoted in properties files, JAAS configs and URLs."""
    if not isinstance(length, int) or isinstance(length, bool) or length < PASSWORD_MIN_LENGTH:
        raise VaultError(
            "length %r is too short for a generated secret: use at least %d characters" % (length, PASSWORD_MIN_LENGTH)
        )
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _index in range(length))


def _cas_conflict(exc):
    return "check-and-set" in str(exc)


class KvSecret:
    """One KV v2 secret: read it, or create the key with check-and-set."""

    def __init__(self, vault, mount, path):
        self.vault = vault
        mount, path = store_path(mount, "mount"), store_path(path, "the secret path")
        self.data_path = "%s/data/%s" % (mount, path)
        self.metadata_path = "%s/metadata/%s" % (mount, path)

    def read(self):
        """The latest version's data, or None (never written, or its latest version deleted)."""
        answer = self.vault.read(self.data_path)
        if answer and answer.get("data"):
            return dict(answer["data"].get("data") or {})
        return None

    def read_for_write(self):
        """(data, version) that a check-and-set write with cas=version may replace.

        The version is read from the metadata *before* the data: a writer that gets in between
        raises the version, so our write fails its check-and-set and is retried. (Data first, then
        metadata, let a fork see "nothing" and then the version another fork had just created, and
        overwrite that fork's value: two hosts ended up with different passwords.)
        """
        metadata = self.vault.read(self.metadata_path) or {}
        version = int((metadata.get("data") or {}).get("current_version") or 0)
        if version == 0:
            return {}, 0
        # Empty when the latest version is deleted: the write must still name the current version.
        return self.read() or {}, version

    def get_or_create(self, key, create, length, check_mode=False):
        data = self.read() or {}
        if key in data:
            return data[key]
        if not create:
            raise VaultError(
                "%s has no key %r: store it first, or call the lookup with create=true" % (self.data_path, key)
            )
        if check_mode:
            # A prediction: a value of the right shape, never stored (check mode writes nothing).
            Display().v("vault_secret: check mode, %s key %r would be created; nothing written" % (self.data_path, key))
            return generate_password(length)
        for _attempt in range(CAS_ATTEMPTS):
            data, version = self.read_for_write()
            if key in data:
                return data[key]
            data[key] = generate_password(length)
            try:
                self.vault.write(self.data_path, {"options": {"cas": version}, "data": data})
                return data[key]
            except VaultError as exc:
                if not _cas_conflict(exc):
                    raise
                # Another fork wrote first: read again and return (or extend) what it stored.
        raise VaultError("%s kept changing while creating %r: retry the run" % (self.data_path, key))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not HAS_HVAC:
            raise AnsibleError("the cdc.pipeline.vault_secret lookup needs the hvac Python library on the controller")
        params = dict(
            (name, self._option(name))
            for name in ("url", "ca_cert", "token", "validate_certs", "client_cert", "client_key", "timeout")
        )
        key, create, length, mount = (self._option(name) for name in ("key", "create", "length", "mount"))
        try:
            if create:
                generate_password(length)  # refuse a short length before anything is read or written
            vault = Vault(params, need_token=True)
            secrets = [KvSecret(vault, mount, term) for term in terms]  # every path checked before a request
            vault.preflight()
            check_mode = bool((variables or {}).get("ansible_check_mode", False))
            return [secret.get_or_create(key, create, length, check_mode) for secret in secrets]
        except VaultError as exc:
            raise AnsibleError("vault_secret: %s" % exc) from None

    def _option(self, name):
        """An option's value; values taken from inventory vars arrive untemplated (e.g. a path
        built from cdc_secrets_dir), so they are templated here."""
        value = self.get_option(name)
        if isinstance(value, str) and "{{" in value and self._templar is not None:
            value = self._templar.template(value)
        # Paths are plain strings in the options (type path would resolve them against the
        # playbook directory before they are templated).
        if name in ("ca_cert", "client_cert", "client_key") and value:
            value = os.path.expanduser(value)
        return value
