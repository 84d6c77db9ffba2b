# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' rule for what counts as a secret, for the roles' own checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import literal_secrets as _literal_secrets


def literal_secrets(config):
    """The keys of a flat config whose values are secrets written out instead of a ${provider:path:key} reference."""
    if not isinstance(config, dict):
        raise AnsibleFilterError("literal_secrets needs a dict (a connector config), got %s" % type(config).__name__)
    return [key for key, _value in _literal_secrets(config)]


# ${directory:<dir>:<file>}: DirectoryConfigProvider's reference to the file <dir>/<file>.
_DIRECTORY_REFERENCE_RE = re.compile(r"\$\{directory:([^:{}]+):([^:{}]+)\}")


def connectors_reading(connectors, files):
    """The names of the connectors (kafka_connector_info's list) whose config refers to one of files
    through ${directory:<dir>:<file>}."""
    if not isinstance(connectors, list):
        raise AnsibleFilterError("connectors_reading needs the connectors list of kafka_connector_info")
    wanted = set(posixpath.normpath(str(path)) for path in files)
    names = []
    for connector in connectors:
        values = (connector.get("config") or {}).values()
        referenced = set(
            posixpath.normpath(posixpath.join(directory, name))
            for value in values
            if isinstance(value, str)
            for directory, name in _DIRECTORY_REFERENCE_RE.findall(value)
        )
        if referenced & wanted:
            names.append(connector["name"])
    return sorted(names)


class FilterModule(object):
    def filters(self):
        return {"literal_secrets": literal_secrets, "connectors_reading": connectors_reading}
