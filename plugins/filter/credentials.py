# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declared credentials (the credentials role's credentials_catalog) as their reader uses them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

REQUIRED_KEYS = ("user", "static_role", "reader", "agent_file", "group")


def read_credentials(catalog, reader, groups, mount):
    """The credentials of catalog that reader reads and whose database group has hosts, as secrets agent
    entries: {name: <agent_file>, path: <mount>/static-creds/<static_role>, field: password, kv: false}."""
    if not isinstance(catalog, dict):
        raise AnsibleFilterError("read_credentials needs credentials_catalog (a dict), got %s" % type(catalog).__name__)
    entries = []
    for key, credential in sorted(catalog.items()):
        missing = [name for name in REQUIRED_KEYS if not (isinstance(credential, dict) and credential.get(name))]
        if missing:
            raise AnsibleFilterError(
                "credentials_catalog.%s lacks %s: each credential needs %s (roles/credentials/defaults/main.yml)"
                % (key, ", ".join(missing), ", ".join(REQUIRED_KEYS))
            )
        if credential["reader"] != reader or not (groups or {}).get(credential["group"]):
            continue
        entries.append(
            {
                "name": credential["agent_file"],
                "path": "%s/static-creds/%s" % (str(mount).strip("/"), credential["static_role"]),
                "field": "password",
                "kv": False,
            }
        )
    return entries


class FilterModule(object):
    def filters(self):
        return {"read_credentials": read_credentials}
