# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declared credentials (the credentials role's credentials_catalog) as their reader uses them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

REQUIRED_KEYS = ("user", "reader", "agent_file", "group")
# Where the password lives: exactly one of these per credential.
STORES = ("static_role", "kv_path")


def _checked(key, credential):
    missing = [name for name in REQUIRED_KEYS if not (isinstance(credential, dict) and credential.get(name))]
    stores = [name for name in STORES if isinstance(credential, dict) and credential.get(name)]
    if len(stores) != 1:
        missing.append("exactly one of %s" % " or ".join(STORES))
    if missing:
        raise AnsibleFilterError(
            "credentials_catalog.%s lacks %s: each credential needs %s and one of %s"
            " (roles/credentials/defaults/main.yml)"
            % (key, ", ".join(missing), ", ".join(REQUIRED_KEYS), " or ".join(STORES))
        )
    return credential


def read_credentials(catalog, reader, groups, mount):
    """The credentials of catalog that reader reads and whose database group has hosts, as secrets agent
    entries: {name: <agent_file>, path: <mount>/static-creds/<static_role>, field: password, kv: false} for a
    database static role, {name: <agent_file>, path: <kv_path>, field: password, kv: true} for a key-value
    secret (the agent and the policy put the key-value mount in front)."""
    if not isinstance(catalog, dict):
        raise AnsibleFilterError("read_credentials needs credentials_catalog (a dict), got %s" % type(catalog).__name__)
    entries = []
    for key, declared in sorted(catalog.items()):
        credential = _checked(key, declared)
        if credential["reader"] != reader or not (groups or {}).get(credential["group"]):
            continue
        if credential.get("static_role"):
            path, kv = "%s/static-creds/%s" % (str(mount).strip("/"), credential["static_role"]), False
        else:
            path, kv = str(credential["kv_path"]).strip("/"), True
        entries.append({"name": credential["agent_file"], "path": path, "field": "password", "kv": kv})
    return entries


class FilterModule(object):
    def filters(self):
        return {"read_credentials": read_credentials}
