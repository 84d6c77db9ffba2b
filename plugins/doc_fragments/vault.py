# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the cdc.pipeline Vault/OpenBao modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # cdc.pipeline.vault: how to reach the Vault HTTP API (every Vault module).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Address of the Vault/OpenBao API, for example C(https://10.213.40.51:8200).
      - Falls back to the E(VAULT_ADDR) environment variable. Playbooks pass C(cdc_vault_url).
    type: str
    required: true
  ca_cert:
    description:
      - CA bundle (PEM) on the controller that signed the listener certificate.
      - Falls back to the E(VAULT_CACERT) environment variable.
      - Without it the system trust store is used.
    type: path
  validate_certs:
    description:
      - Verify the listener certificate. Only turn this off to debug a lab; never in production.
    type: bool
    default: true
  client_cert:
    description:
      - Client certificate (PEM) for mutual TLS to the listener. Give O(client_key) with it.
    type: path
  client_key:
    description:
      - Private key (PEM) of O(client_cert).
    type: path
  timeout:
    description:
      - Seconds to wait for each API request (and for a raft leader after an unseal).
    type: int
    default: 30
attributes:
  action_group:
    description: Use C(group/cdc.pipeline.vault) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - cdc.pipeline.vault
notes:
  - Runs on the controller (use C(delegate_to=localhost)) and talks to the Vault HTTP API with C(hvac).
  - Any failure is reported as one message naming the fix (unreachable, TLS, sealed, not initialised,
    token refused, permission denied). The checks run before anything is written.
requirements:
  - hvac >= 2.0
"""

    # cdc.pipeline.vault.token: modules that need an authenticated token.
    TOKEN = r"""
options:
  token:
    description:
      - Vault token used for the requests (for example from the admin AppRole login).
      - Falls back to the E(VAULT_TOKEN) environment variable. Playbooks pass C(cdc_vault_token).
      - Checked with C(auth/token/lookup-self) before anything is written, so a wrong, expired or
        revoked token fails without a partial change.
    type: str
"""  # noqa: S105 - the fragment is named token, it holds no secret
