# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' rule for what counts as a secret, for the roles' own checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.cdc.pipeline.plugins.module_utils.secret_keys import literal_secrets as _literal_secrets


def literal_secrets(config):
    """The keys of a flat config whose values are secrets written out instead of a ${provider:path:key} reference."""
    if not isinstance(config, dict):
        raise AnsibleFilterError("literal_secrets needs a dict (a connector config), got %s" % type(config).__name__)
    return [key for key, _value in _literal_secrets(config)]


class FilterModule(object):
    def filters(self):
        return {"literal_secrets": literal_secrets}
