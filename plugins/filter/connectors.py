# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the JDBC sink writes a source table: the one rule the connectors role and the reconciliation share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def sink_table(source_table, table_format, topic_prefix):
    """The sink table of keyspace.table: table_format with ${topic} (its topic, dots as underscores, as Debezium's
    DefaultCollectionNamingStrategy writes it) and ${source.keyspace_name}/${source.db}/${source.table_name}."""
    parts = str(source_table).split(".")
    if len(parts) != 2 or not all(parts):
        raise AnsibleFilterError("sink_table: %r is not keyspace.table" % (source_table,))
    keyspace, table = parts
    topic = "%s.%s" % (topic_prefix, source_table) if topic_prefix else str(source_table)
    return (
        str(table_format)
        .replace("${topic}", topic.replace(".", "_"))
        .replace("${source.keyspace_name}", keyspace)
        .replace("${source.db}", keyspace)
        .replace("${source.table_name}", table)
    )


class FilterModule(object):
    def filters(self):
        return {"sink_table": sink_table}
