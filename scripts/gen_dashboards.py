#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the pipeline's Grafana dashboards (roles/grafana/files/dashboards/*.json).

The checked-in JSON is what ships; this generator only keeps the six dashboards consistent
(datasource variable, layout, units, tags). Edit the panels here, run it, review the JSON diff.

Conventions every panel follows (scripts/check_dashboards.py --static enforces them):

* every query goes to the dashboard's ``datasource`` variable (``${datasource}``);
* rates use ``$__rate_interval``; fixed windows only where an alert uses the same one
  (``increase(...[10m])`` for the dead letter queue, ``[15m]`` for a stalled source);
* only metric names the exporters produce (docs/alerts.md#metric-contract and
  roles/grafana/files/known_metrics.yml);
* each panel carries ``tags`` naming the components it needs (``kafka``, ``connect``, ``source``,
  ``sink``, ``postgresql``, ``replica``, ``pgbouncer``, ``pgbackrest``, ``vault``, ``node``,
  ``certificates``), so a live check where a component cannot run skips it by tag, visibly.

Usage::

    python scripts/gen_dashboards.py            # (re)write the JSON files
    python scripts/gen_dashboards.py --check    # exit 1 when a file differs from what it would write

See docs/grafana.md.
"""

# ruff: noqa: E501 - a PromQL expression stays on one line, so it can be read and grepped whole
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "roles" / "grafana" / "files" / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
COMMON_TAGS = ["cdc-pipeline"]
# Sink consumers of Connect are named connector-consumer-<connector>-<task>.
SINK_CLIENT = 'client_id=~"connector-consumer-.+-[0-9]+"'
TO_CONNECTOR = '"connector", "$1", "client_id", "connector-consumer-(.+)-[0-9]+"'


# --- building blocks ------------------------------------------------------------------------------
def target(expr, legend="", instant=False, table=False):
    """One Prometheus query of a panel."""
    result = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "range": not instant}
    if instant:
        result["instant"] = True
    if table:
        result["format"] = "table"
    return result


def _thresholds(steps):
    """steps: [(value or None, colour), ...] from the lowest."""
    return {"mode": "absolute", "steps": [{"color": colour, "value": value} for value, colour in steps]}


GREEN = ((None, "green"),)


def timeseries(title, targets, *, unit="short", description="", tags=(), width=12, height=8, stack=False, minimum=None):
    defaults = {
        "unit": unit,
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        },
        "color": {"mode": "palette-classic"},
        "thresholds": _thresholds(GREEN),
    }
    if minimum is not None:
        defaults["min"] = minimum
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "tags": list(tags),
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["lastNotNull", "max"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "_size": (width, height),
    }


def stat(title, targets, *, unit="short", description="", tags=(), steps=GREEN, mappings=(), width=4, height=4):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "tags": list(tags),
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": _thresholds(steps),
                "mappings": list(mappings),
            },
            "overrides": [],
        },
        "options": {
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
        "_size": (width, height),
    }


def table(title, targets, *, description="", tags=(), width=12, height=8, hide=("Time",)):
    return {
        "type": "table",
        "title": title,
        "description": description,
        "tags": list(tags),
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm"},
        "transformations": [
            {"id": "organize", "options": {"excludeByName": {name: True for name in hide}, "renameByName": {}}}
        ],
        "_size": (width, height),
    }


def up_down_mapping():
    return [
        {"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}
    ]


def row(title, panels, collapsed=False):
    return {"type": "row", "title": title, "collapsed": collapsed, "panels": panels}


def variable_query(name, label, query, all_value=".*"):
    """A multi-value query variable whose 'All' is a regex (used as label=~"$name")."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": all_value,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
        "options": [],
        "regex": "",
    }


def datasource_variable():
    return {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "hide": 0,
        "current": {},
        "options": [],
    }


def layout(rows):
    """Give every panel an id and a gridPos (rows full width; panels left to right, wrapping at 24)."""
    panels, next_id, y = [], 1, 0

    def place(items, y):
        nonlocal next_id
        x, line_height = 0, 0
        placed = []
        for panel in items:
            width, height = panel.pop("_size")
            if x + width > 24:
                x, y = 0, y + line_height
                line_height = 0
            panel["id"] = next_id
            next_id += 1
            panel["gridPos"] = {"h": height, "w": width, "x": x, "y": y}
            for ref, tgt in zip("ABCDEFGH", panel["targets"], strict=False):
                tgt["refId"] = ref
            placed.append(panel)
            x += width
            line_height = max(line_height, height)
        return placed, y + line_height

    for item in rows:
        item["id"] = next_id
        next_id += 1
        item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
        y += 1
        children, end = place(item.pop("panels"), y)
        if item["collapsed"]:
            # Grafana keeps a collapsed row's panels inside the row.
            item["panels"] = children
            panels.append(item)
        else:
            item["panels"] = []
            panels.append(item)
            panels.extend(children)
            y = end
    return panels


def dashboard(uid, title, description, rows, variables=()):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [*COMMON_TAGS, uid.removeprefix("cdc-")],
        "editable": False,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "version": 1,
        "links": [
            {
                "type": "dashboards",
                "title": "CDC pipeline",
                "tags": COMMON_TAGS,
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
            }
        ],
        "annotations": {"list": []},
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout(rows),
    }


# --- the dashboards ----------------------------------------------------------------------------------
def overview():
    sink_lag = (
        f"max by (connector) (label_replace(kafka_connect_consumer_records_lag_max{{{SINK_CLIENT}}}, {TO_CONNECTOR}))"
    )
    return dashboard(
        "cdc-overview",
        "CDC pipeline overview",
        "ScyllaDB -> source connector -> Kafka -> sink connector -> PostgreSQL: is data flowing, how far behind is "
        "the sink, is anything failing. Alerts: docs/alerts.md.",
        [
            row(
                "Is data flowing?",
                [
                    stat(
                        "Connectors running",
                        [target('count(kafka_connect_connector_status{status="running"})', instant=True)],
                        tags=["connect"],
                        description="Connectors whose status is RUNNING (one series per connector, on the worker that runs it).",
                    ),
                    stat(
                        "Connectors not running",
                        [
                            target(
                                'count(kafka_connect_connector_status{status!="running"}) '
                                "or 0 * count(kafka_connect_connector_status)",
                                instant=True,
                            )
                        ],
                        tags=["connect"],
                        steps=[(None, "green"), (1, "red")],
                        description="FAILED, PAUSED or UNASSIGNED connectors. CdcConnectorFailed pages after 1 minute of FAILED.",
                    ),
                    stat(
                        "Failed tasks",
                        [
                            target(
                                'count(kafka_connect_task_status{status="failed"}) '
                                "or 0 * count(kafka_connect_task_status)",
                                instant=True,
                            )
                        ],
                        tags=["connect"],
                        steps=[(None, "green"), (1, "red")],
                        description="Tasks in FAILED state (CdcConnectorTaskFailed).",
                    ),
                    stat(
                        "Sink lag (records)",
                        [target(f"max(kafka_connect_consumer_records_lag_max{{{SINK_CLIENT}}})", instant=True)],
                        tags=["connect", "sink"],
                        steps=[(None, "green"), (10000, "orange")],
                        description="Largest consumer lag of any sink task, in records. CdcSinkLagHigh warns above 10000 for 15 minutes.",
                    ),
                    stat(
                        "Dead letter queue (last hour)",
                        [
                            target(
                                "sum(increase(kafka_connect_task_error_deadletterqueue_produce_requests[1h]))",
                                instant=True,
                            )
                        ],
                        tags=["connect", "sink"],
                        steps=[(None, "green"), (1, "orange")],
                        description="Records the sink sent to its dead letter queue in the last hour. In steady state: 0.",
                    ),
                    stat(
                        "Sink database",
                        [target('min(pg_up{role="primary"})', instant=True)],
                        tags=["postgresql"],
                        steps=[(None, "red"), (1, "green")],
                        mappings=up_down_mapping(),
                        description="postgres_exporter reaches the PostgreSQL primary (pg_up).",
                    ),
                ],
            ),
            row(
                "Throughput",
                [
                    timeseries(
                        "Source: records written to Kafka /s",
                        [
                            target(
                                "sum by (connector) (rate(kafka_connect_source_task_source_record_write_total[$__rate_interval]))",
                                "{{connector}}",
                            )
                        ],
                        unit="ops",
                        tags=["connect", "source"],
                        description="Records the source connector's tasks wrote to Kafka, heartbeats included "
                        "(source-record-write-total).",
                        width=8,
                    ),
                    timeseries(
                        "Kafka: records into the CDC topics /s",
                        [
                            target(
                                'sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesinpersec_total{topic=~"cdc\\\\..+"}[$__rate_interval]))',
                                "{{topic}}",
                            )
                        ],
                        unit="ops",
                        tags=["kafka"],
                        description="Messages appended to the cdc.* topics (leader replicas only, so each record once).",
                        width=8,
                    ),
                    timeseries(
                        "Sink: records written to PostgreSQL /s",
                        [
                            target(
                                "sum by (connector) (rate(kafka_connect_sink_task_sink_record_send_total[$__rate_interval]))",
                                "{{connector}}",
                            )
                        ],
                        unit="ops",
                        tags=["connect", "sink"],
                        description="Records the sink tasks handed to the connector after transformations (sink-record-send-total).",
                        width=8,
                    ),
                    timeseries(
                        "Sink database: rows changed /s",
                        [
                            target(
                                'sum by (datname) (rate(pg_stat_database_tup_inserted{role="primary", datname!~"template.*|postgres"}[$__rate_interval]))',
                                "{{datname}} inserted",
                            ),
                            target(
                                'sum by (datname) (rate(pg_stat_database_tup_updated{role="primary", datname!~"template.*|postgres"}[$__rate_interval]))',
                                "{{datname}} updated",
                            ),
                            target(
                                'sum by (datname) (rate(pg_stat_database_tup_deleted{role="primary", datname!~"template.*|postgres"}[$__rate_interval]))',
                                "{{datname}} deleted",
                            ),
                        ],
                        unit="ops",
                        tags=["postgresql"],
                        description="Rows inserted, updated and deleted in the application databases of the primary.",
                        width=24,
                    ),
                ],
            ),
            row(
                "Lag",
                [
                    timeseries(
                        "Sink consumer lag (records, max per connector)",
                        [target(sink_lag, "{{connector}}")],
                        tags=["connect", "sink"],
                        description="records-lag-max of the sink's consumers: how many records the slowest partition is "
                        "behind. CdcSinkLagHigh: above 10000 for 15 minutes; CdcSinkLagGrowing: and still growing.",
                        minimum=0,
                    ),
                    timeseries(
                        "Sink lag per topic (records)",
                        [
                            target(
                                f"sum by (topic) (kafka_connect_consumer_records_lag{{{SINK_CLIENT}}})",
                                "{{topic}}",
                            )
                        ],
                        tags=["connect", "sink"],
                        description="Current lag summed over the partitions of each topic the sink reads.",
                        minimum=0,
                    ),
                    timeseries(
                        "End-to-end: time for the sink to catch up (estimate)",
                        [
                            target(
                                f"sum by (connector) (label_replace(kafka_connect_consumer_records_lag{{{SINK_CLIENT}}}, "
                                f"{TO_CONNECTOR})) / clamp_min(sum by (connector) "
                                "(rate(kafka_connect_sink_task_sink_record_read_total[$__rate_interval])), 1)",
                                "{{connector}}",
                            )
                        ],
                        unit="s",
                        tags=["connect", "sink"],
                        description="Records behind divided by the sink's current read rate (at least 1/s): how long the "
                        "sink needs to drain Kafka if the source stopped now. The ScyllaDB source connector exposes no "
                        "seconds-behind metric (docs/alerts.md#source-lag-the-assumption), so this plus the source "
                        "write rate is the pipeline's end-to-end lag.",
                        minimum=0,
                    ),
                    timeseries(
                        "Source: records written in the last 15 minutes",
                        [
                            target(
                                "sum by (connector, task) (increase(kafka_connect_source_task_source_record_write_total[15m]))",
                                "{{connector}}/{{task}}",
                            )
                        ],
                        tags=["connect", "source"],
                        description="A running source task writes a heartbeat every 30 s; 0 here for a running task "
                        "is CdcSourceStalled.",
                        minimum=0,
                    ),
                ],
            ),
            row(
                "Connectors and tasks",
                [
                    table(
                        "Connector status",
                        [
                            target(
                                "max by (connector, status) (kafka_connect_connector_status)", instant=True, table=True
                            )
                        ],
                        tags=["connect"],
                        description="One row per connector and its current status.",
                        hide=("Time", "Value"),
                    ),
                    table(
                        "Task status",
                        [
                            target(
                                "max by (connector, task, status) (kafka_connect_task_status)", instant=True, table=True
                            )
                        ],
                        tags=["connect"],
                        description="One row per task and its current status.",
                        hide=("Time", "Value"),
                    ),
                ],
            ),
            row(
                "Dead letter queue and errors",
                [
                    timeseries(
                        "Records sent to the dead letter queue (per 10 minutes)",
                        [
                            target(
                                "sum by (connector) (increase(kafka_connect_task_error_deadletterqueue_produce_requests[10m]))",
                                "{{connector}}",
                            )
                        ],
                        tags=["connect", "sink"],
                        description="The window CdcDeadLetterQueueGrowing uses. Runbook: "
                        "docs/connector-configs.md#dead-letter-queue-runbook.",
                        minimum=0,
                    ),
                    timeseries(
                        "Record errors /s",
                        [
                            target(
                                "sum by (connector) (rate(kafka_connect_task_error_total_record_errors[$__rate_interval]))",
                                "{{connector}}",
                            )
                        ],
                        unit="ops",
                        tags=["connect"],
                        description="Records that failed in conversion, transformation or put (tolerated or not).",
                        minimum=0,
                    ),
                ],
            ),
            row(
                "Kafka, database and secrets at a glance",
                [
                    stat(
                        "Kafka nodes up",
                        [target('sum(up{job="kafka"})', instant=True)],
                        tags=["kafka"],
                        description="Kafka brokers and controllers whose JMX exporter answers.",
                    ),
                    stat(
                        "Under-replicated partitions",
                        [target("sum(kafka_server_replicamanager_underreplicatedpartitions)", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "green"), (1, "orange")],
                    ),
                    stat(
                        "Offline partitions",
                        [target("sum(kafka_controller_kafkacontroller_offlinepartitionscount)", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "green"), (1, "red")],
                    ),
                    stat(
                        "Replica behind the primary",
                        [target("max(pg_stat_replication_pg_wal_lsn_diff)", instant=True)],
                        unit="bytes",
                        tags=["postgresql", "replica"],
                        steps=[(None, "green"), (268435456, "orange")],
                        description="WAL bytes between the primary and the slowest standby's replay position "
                        "(PostgresqlReplicationLagHigh: 256 MiB for 10 minutes).",
                    ),
                    stat(
                        "OpenBao nodes unsealed",
                        [target("sum(vault_core_unsealed)", instant=True)],
                        tags=["vault"],
                    ),
                    stat(
                        "Hosts up",
                        [target('sum(up{job="node"})', instant=True)],
                        tags=["node"],
                        description="Hosts whose node exporter answers.",
                    ),
                ],
            ),
        ],
    )


def kafka():
    inst = 'instance=~"$instance"'
    return dashboard(
        "cdc-kafka",
        "Kafka",
        "KRaft cluster: partitions, controller quorum, throughput, latency, replication. Runbook: docs/runbook-kafka.md.",
        [
            row(
                "Cluster",
                [
                    stat("Nodes up", [target(f'sum(up{{job="kafka", {inst}}})', instant=True)], tags=["kafka"]),
                    stat(
                        "Active controllers",
                        [target("sum(kafka_controller_kafkacontroller_activecontrollercount)", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "red"), (1, "green"), (2, "red")],
                        description="Exactly 1 (KafkaNoActiveController).",
                    ),
                    stat(
                        "Quorum leader (node id)",
                        [target(f"max(kafka_server_raft_current_leader{{{inst}}})", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "red"), (0, "green")],
                        description="-1 when a node knows no leader (KafkaQuorumLeaderUnknown).",
                    ),
                    stat(
                        "Under-replicated partitions",
                        [target(f"sum(kafka_server_replicamanager_underreplicatedpartitions{{{inst}}})", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "green"), (1, "orange")],
                    ),
                    stat(
                        "Under min ISR",
                        [target(f"sum(kafka_server_replicamanager_underminisrpartitioncount{{{inst}}})", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "green"), (1, "red")],
                        description="Producers with acks=all are refused on these partitions.",
                    ),
                    stat(
                        "Offline partitions",
                        [target("sum(kafka_controller_kafkacontroller_offlinepartitionscount)", instant=True)],
                        tags=["kafka"],
                        steps=[(None, "green"), (1, "red")],
                    ),
                ],
            ),
            row(
                "Throughput",
                [
                    timeseries(
                        "Messages in /s per broker",
                        [
                            target(
                                f'sum by (instance) (rate(kafka_server_brokertopicmetrics_messagesinpersec_total{{{inst}, topic=""}}[$__rate_interval]))',
                                "{{instance}}",
                            )
                        ],
                        unit="ops",
                        tags=["kafka"],
                        width=8,
                    ),
                    timeseries(
                        "Bytes in and out /s per broker",
                        [
                            target(
                                f'sum by (instance) (rate(kafka_server_brokertopicmetrics_bytesinpersec_total{{{inst}, topic=""}}[$__rate_interval]))',
                                "{{instance}} in",
                            ),
                            target(
                                f'sum by (instance) (rate(kafka_server_brokertopicmetrics_bytesoutpersec_total{{{inst}, topic=""}}[$__rate_interval]))',
                                "{{instance}} out",
                            ),
                        ],
                        unit="Bps",
                        tags=["kafka"],
                        width=8,
                    ),
                    timeseries(
                        "Messages in /s per topic",
                        [
                            target(
                                f'sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesinpersec_total{{{inst}, topic!=""}}[$__rate_interval]))',
                                "{{topic}}",
                            )
                        ],
                        unit="ops",
                        tags=["kafka"],
                        width=8,
                    ),
                    timeseries(
                        "Requests /s",
                        [
                            target(
                                f"sum by (request) (rate(kafka_network_requestmetrics_requestspersec_total"
                                f'{{{inst}, request=~"Produce|FetchConsumer|FetchFollower|Metadata|OffsetCommit"}}[$__rate_interval]))',
                                "{{request}}",
                            )
                        ],
                        unit="reqps",
                        tags=["kafka"],
                    ),
                    timeseries(
                        "Request time, 99th percentile",
                        [
                            target(
                                f"max by (request) (kafka_network_requestmetrics_total_time_ms"
                                f'{{{inst}, request=~"Produce|FetchConsumer|FetchFollower", quantile="0.99"}})',
                                "{{request}}",
                            )
                        ],
                        unit="ms",
                        tags=["kafka"],
                        description="Total time (queue, local, remote, response) of the slowest broker.",
                    ),
                ],
            ),
            row(
                "Replication",
                [
                    timeseries(
                        "Partitions and leaders per broker",
                        [
                            target(f"kafka_server_replicamanager_partitioncount{{{inst}}}", "{{instance}} partitions"),
                            target(f"kafka_server_replicamanager_leadercount{{{inst}}}", "{{instance}} leaders"),
                        ],
                        tags=["kafka"],
                        width=8,
                    ),
                    timeseries(
                        "ISR shrinks and expands /s",
                        [
                            target(
                                f"sum by (instance) (rate(kafka_server_replicamanager_isrshrinkspersec_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} shrinks",
                            ),
                            target(
                                f"sum by (instance) (rate(kafka_server_replicamanager_isrexpandspersec_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} expands",
                            ),
                        ],
                        unit="ops",
                        tags=["kafka"],
                        description="Shrinks without matching expands: a follower keeps falling out of sync.",
                        width=8,
                    ),
                    timeseries(
                        "Follower fetch lag (messages, max)",
                        [
                            target(
                                f"max by (instance) (kafka_server_replicafetchermanager_maxlag{{{inst}}})",
                                "{{instance}}",
                            )
                        ],
                        tags=["kafka"],
                        width=8,
                    ),
                ],
            ),
            row(
                "KRaft quorum",
                [
                    timeseries(
                        "Current leader and epoch per node",
                        [
                            target(f"kafka_server_raft_current_leader{{{inst}}}", "{{instance}} leader"),
                            target(f"kafka_server_raft_current_epoch{{{inst}}}", "{{instance}} epoch"),
                        ],
                        tags=["kafka"],
                        description="Epochs that keep rising mean repeated elections.",
                    ),
                    timeseries(
                        "Metadata commit latency (avg)",
                        [target(f"kafka_server_raft_commit_latency_avg{{{inst}}}", "{{instance}}")],
                        unit="ms",
                        tags=["kafka"],
                    ),
                ],
            ),
            row(
                "JVM and network threads",
                [
                    timeseries(
                        "Heap used",
                        [
                            target(f'jvm_memory_used_bytes{{job="kafka", area="heap", {inst}}}', "{{instance}} used"),
                            target(f'jvm_memory_max_bytes{{job="kafka", area="heap", {inst}}}', "{{instance}} max"),
                        ],
                        unit="bytes",
                        tags=["kafka"],
                        width=8,
                    ),
                    timeseries(
                        "GC time share",
                        [
                            target(
                                f'sum by (instance) (rate(jvm_gc_collection_seconds_sum{{job="kafka", {inst}}}[$__rate_interval]))',
                                "{{instance}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["kafka"],
                        width=8,
                    ),
                    timeseries(
                        "Network processors idle",
                        [
                            target(
                                f"kafka_network_socketserver_networkprocessoravgidlepercent{{{inst}}}", "{{instance}}"
                            )
                        ],
                        unit="percentunit",
                        tags=["kafka"],
                        description="Below 0.3 the brokers' network threads are the bottleneck.",
                        width=8,
                    ),
                ],
                collapsed=True,
            ),
        ],
        variables=[variable_query("instance", "Node", 'label_values(up{job="kafka"}, instance)')],
    )


def connect():
    inst = 'instance=~"$instance"'
    conn = 'connector=~"$connector"'
    return dashboard(
        "cdc-connect",
        "Kafka Connect",
        "Distributed workers, connectors and tasks, source and sink task metrics, errors and the dead letter queue. "
        "Runbooks: docs/connectors.md, docs/connector-configs.md.",
        [
            row(
                "Workers",
                [
                    stat(
                        "Workers up",
                        [target(f'sum(up{{job="kafka_connect", {inst}}})', instant=True)],
                        tags=["connect"],
                    ),
                    stat(
                        "Rebalancing workers",
                        [target(f"sum(kafka_connect_worker_rebalance_rebalancing{{{inst}}})", instant=True)],
                        tags=["connect"],
                        steps=[(None, "green"), (1, "orange")],
                    ),
                    timeseries(
                        "Connectors and tasks per worker",
                        [
                            target(f"kafka_connect_worker_connector_count{{{inst}}}", "{{instance}} connectors"),
                            target(f"kafka_connect_worker_task_count{{{inst}}}", "{{instance}} tasks"),
                        ],
                        tags=["connect"],
                        width=8,
                    ),
                    timeseries(
                        "Rebalances and task start failures",
                        [
                            target(
                                f"sum by (instance) (increase(kafka_connect_worker_rebalance_completed_rebalances_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} rebalances",
                            ),
                            target(
                                f"sum by (instance) (increase(kafka_connect_worker_task_startup_failure_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} task start failures",
                            ),
                        ],
                        tags=["connect"],
                        width=8,
                    ),
                ],
            ),
            row(
                "Connectors and tasks",
                [
                    table(
                        "Connector status",
                        [
                            target(
                                f"max by (connector, status) (kafka_connect_connector_status{{{conn}}})",
                                instant=True,
                                table=True,
                            )
                        ],
                        tags=["connect"],
                        hide=("Time", "Value"),
                        width=8,
                    ),
                    table(
                        "Task status",
                        [
                            target(
                                f"max by (connector, task, status, instance) (kafka_connect_task_status{{{conn}}})",
                                instant=True,
                                table=True,
                            )
                        ],
                        tags=["connect"],
                        hide=("Time", "Value"),
                        width=8,
                    ),
                    timeseries(
                        "Running and failed tasks per connector",
                        [
                            target(
                                f"sum by (connector) (kafka_connect_worker_connector_running_task_count{{{conn}}})",
                                "{{connector}} running",
                            ),
                            target(
                                f"sum by (connector) (kafka_connect_worker_connector_failed_task_count{{{conn}}})",
                                "{{connector}} failed",
                            ),
                        ],
                        tags=["connect"],
                        width=8,
                    ),
                ],
            ),
            row(
                "Source tasks",
                [
                    timeseries(
                        "Records polled and written /s",
                        [
                            target(
                                f"sum by (connector) (rate(kafka_connect_source_task_source_record_poll_total{{{conn}}}[$__rate_interval]))",
                                "{{connector}} polled",
                            ),
                            target(
                                f"sum by (connector) (rate(kafka_connect_source_task_source_record_write_total{{{conn}}}[$__rate_interval]))",
                                "{{connector}} written",
                            ),
                        ],
                        unit="ops",
                        tags=["connect", "source"],
                        width=8,
                    ),
                    timeseries(
                        "Poll batch time (avg)",
                        [
                            target(
                                f"max by (connector, task) (kafka_connect_source_task_poll_batch_avg_time_ms{{{conn}}})",
                                "{{connector}}/{{task}}",
                            )
                        ],
                        unit="ms",
                        tags=["connect", "source"],
                        width=8,
                    ),
                    timeseries(
                        "Records polled but not yet written",
                        [
                            target(
                                f"sum by (connector) (kafka_connect_source_task_source_record_active_count{{{conn}}})",
                                "{{connector}}",
                            )
                        ],
                        tags=["connect", "source"],
                        width=8,
                    ),
                ],
            ),
            row(
                "Sink tasks",
                [
                    timeseries(
                        "Records read and sent /s",
                        [
                            target(
                                f"sum by (connector) (rate(kafka_connect_sink_task_sink_record_read_total{{{conn}}}[$__rate_interval]))",
                                "{{connector}} read",
                            ),
                            target(
                                f"sum by (connector) (rate(kafka_connect_sink_task_sink_record_send_total{{{conn}}}[$__rate_interval]))",
                                "{{connector}} sent",
                            ),
                        ],
                        unit="ops",
                        tags=["connect", "sink"],
                        width=8,
                    ),
                    timeseries(
                        "Put batch time (avg and max)",
                        [
                            target(
                                f"max by (connector) (kafka_connect_sink_task_put_batch_avg_time_ms{{{conn}}})",
                                "{{connector}} avg",
                            ),
                            target(
                                f"max by (connector) (kafka_connect_sink_task_put_batch_max_time_ms{{{conn}}})",
                                "{{connector}} max",
                            ),
                        ],
                        unit="ms",
                        tags=["connect", "sink"],
                        description="Time the sink takes to write one batch to PostgreSQL.",
                        width=8,
                    ),
                    timeseries(
                        "Consumer lag per partition (records)",
                        [
                            target(
                                f"max by (topic, partition) (kafka_connect_consumer_records_lag{{{SINK_CLIENT}}})",
                                "{{topic}}/{{partition}}",
                            )
                        ],
                        tags=["connect", "sink"],
                        minimum=0,
                        width=8,
                    ),
                    timeseries(
                        "Offset commits /s (completed and skipped)",
                        [
                            target(
                                f"sum by (connector) (rate(kafka_connect_sink_task_offset_commit_completion_total{{{conn}}}[$__rate_interval]))",
                                "{{connector}} completed",
                            ),
                            target(
                                f"sum by (connector) (rate(kafka_connect_sink_task_offset_commit_skip_total{{{conn}}}[$__rate_interval]))",
                                "{{connector}} skipped",
                            ),
                        ],
                        unit="ops",
                        tags=["connect", "sink"],
                    ),
                    timeseries(
                        "Partitions assigned per task",
                        [
                            target(
                                f"max by (connector, task) (kafka_connect_sink_task_partition_count{{{conn}}})",
                                "{{connector}}/{{task}}",
                            )
                        ],
                        tags=["connect", "sink"],
                    ),
                ],
            ),
            row(
                "Errors and dead letter queue",
                [
                    timeseries(
                        "Record errors, failures and skips /s",
                        [
                            target(
                                f"sum by (connector) (rate(kafka_connect_task_error_total_record_errors{{{conn}}}[$__rate_interval]))",
                                "{{connector}} errors",
                            ),
                            target(
                                f"sum by (connector) (rate(kafka_connect_task_error_total_record_failures{{{conn}}}[$__rate_interval]))",
                                "{{connector}} failures",
                            ),
                            target(
                                f"sum by (connector) (rate(kafka_connect_task_error_total_records_skipped{{{conn}}}[$__rate_interval]))",
                                "{{connector}} skipped",
                            ),
                        ],
                        unit="ops",
                        tags=["connect"],
                        width=8,
                    ),
                    timeseries(
                        "Dead letter queue produce requests and failures (per 10 minutes)",
                        [
                            target(
                                f"sum by (connector) (increase(kafka_connect_task_error_deadletterqueue_produce_requests{{{conn}}}[10m]))",
                                "{{connector}} sent",
                            ),
                            target(
                                f"sum by (connector) (increase(kafka_connect_task_error_deadletterqueue_produce_failures{{{conn}}}[10m]))",
                                "{{connector}} failed",
                            ),
                        ],
                        tags=["connect"],
                        description="A failed DLQ write fails the task. Runbook: docs/connector-configs.md#dead-letter-queue-runbook.",
                        width=8,
                    ),
                    timeseries(
                        "Offset commit failures",
                        [
                            target(
                                f"max by (connector, task) (kafka_connect_task_offset_commit_failure_percentage{{{conn}}})",
                                "{{connector}}/{{task}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["connect"],
                        width=8,
                    ),
                    timeseries(
                        "Producer send errors /s (source and DLQ producers)",
                        [
                            target(
                                f'sum by (client_id) (rate(kafka_connect_producer_record_error_total{{client_id=~"connector-.+", {inst}}}[$__rate_interval]))',
                                "{{client_id}}",
                            )
                        ],
                        unit="ops",
                        tags=["connect"],
                    ),
                    timeseries(
                        "Task running ratio",
                        [
                            target(
                                f"max by (connector, task) (kafka_connect_task_running_ratio{{{conn}}})",
                                "{{connector}}/{{task}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["connect"],
                        description="Share of time each task spent running (not paused) over the metric's window.",
                    ),
                ],
            ),
            row(
                "JVM",
                [
                    timeseries(
                        "Heap used",
                        [
                            target(
                                f'jvm_memory_used_bytes{{job="kafka_connect", area="heap", {inst}}}',
                                "{{instance}} used",
                            ),
                            target(
                                f'jvm_memory_max_bytes{{job="kafka_connect", area="heap", {inst}}}', "{{instance}} max"
                            ),
                        ],
                        unit="bytes",
                        tags=["connect"],
                    ),
                    timeseries(
                        "GC time share",
                        [
                            target(
                                f'sum by (instance) (rate(jvm_gc_collection_seconds_sum{{job="kafka_connect", {inst}}}[$__rate_interval]))',
                                "{{instance}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["connect"],
                    ),
                ],
                collapsed=True,
            ),
        ],
        variables=[
            variable_query("instance", "Worker", 'label_values(up{job="kafka_connect"}, instance)'),
            variable_query("connector", "Connector", "label_values(kafka_connect_connector_status, connector)"),
        ],
    )


def postgresql():
    inst = 'instance=~"$instance"'
    db = 'datname=~"$database"'
    return dashboard(
        "cdc-postgresql",
        "PostgreSQL and PgBouncer",
        "The sink database: primary and streaming replica, activity, WAL archiving, backups and the PgBouncer pool. "
        "Runbook: docs/runbook-postgresql.md.",
        [
            row(
                "Servers and replication",
                [
                    stat(
                        "Primary",
                        [target(f'min(pg_up{{role="primary", {inst}}})', instant=True)],
                        tags=["postgresql"],
                        steps=[(None, "red"), (1, "green")],
                        mappings=up_down_mapping(),
                    ),
                    stat(
                        "Replicas up",
                        [target(f'sum(pg_up{{role="replica", {inst}}})', instant=True)],
                        tags=["postgresql", "replica"],
                        steps=[(None, "red"), (1, "green")],
                    ),
                    stat(
                        "Standbys streaming",
                        [target('count(pg_stat_replication_pg_wal_lsn_diff{state="streaming"})', instant=True)],
                        tags=["postgresql", "replica"],
                        steps=[(None, "red"), (1, "green")],
                        description="Standbys in state streaming in the primary's pg_stat_replication "
                        "(PostgresqlReplicaNotStreaming).",
                    ),
                    stat(
                        "Connections used",
                        [
                            target(
                                f"max(sum by (instance) (pg_stat_activity_count{{{inst}}}) / on (instance) "
                                f"max by (instance) (pg_settings_max_connections{{{inst}}}))",
                                instant=True,
                            )
                        ],
                        unit="percentunit",
                        tags=["postgresql"],
                        steps=[(None, "green"), (0.8, "orange"), (0.95, "red")],
                        width=4,
                    ),
                    timeseries(
                        "Replication lag (WAL bytes behind the primary)",
                        [
                            target(
                                "max by (application_name, client_addr) (pg_stat_replication_pg_wal_lsn_diff)",
                                "{{application_name}} {{client_addr}}",
                            )
                        ],
                        unit="bytes",
                        tags=["postgresql", "replica"],
                        description="Between the primary's current WAL position and each standby's replay position. "
                        "postgres_exporter 0.11 gives bytes, not seconds (docs/alerts.md#postgresql-postgres_exporter-011).",
                        width=8,
                        minimum=0,
                    ),
                    timeseries(
                        "Seconds since each standby's last reply",
                        [
                            target(
                                "time() - max by (application_name, client_addr) (pg_stat_replication_reply_time)",
                                "{{application_name}} {{client_addr}}",
                            )
                        ],
                        unit="s",
                        tags=["postgresql", "replica"],
                        description="A standby reports at least every wal_receiver_status_interval (10 s).",
                        width=8,
                        minimum=0,
                    ),
                ],
            ),
            row(
                "Activity",
                [
                    timeseries(
                        "Transactions /s",
                        [
                            target(
                                f"sum by (instance, datname) (rate(pg_stat_database_xact_commit{{{inst}, {db}}}[$__rate_interval]))",
                                "{{instance}} {{datname}} commit",
                            ),
                            target(
                                f"sum by (instance, datname) (rate(pg_stat_database_xact_rollback{{{inst}, {db}}}[$__rate_interval]))",
                                "{{instance}} {{datname}} rollback",
                            ),
                        ],
                        unit="ops",
                        tags=["postgresql"],
                        width=8,
                    ),
                    timeseries(
                        "Rows inserted, updated, deleted /s",
                        [
                            target(
                                f"sum by (datname) (rate(pg_stat_database_tup_inserted{{{inst}, {db}}}[$__rate_interval]))",
                                "{{datname}} inserted",
                            ),
                            target(
                                f"sum by (datname) (rate(pg_stat_database_tup_updated{{{inst}, {db}}}[$__rate_interval]))",
                                "{{datname}} updated",
                            ),
                            target(
                                f"sum by (datname) (rate(pg_stat_database_tup_deleted{{{inst}, {db}}}[$__rate_interval]))",
                                "{{datname}} deleted",
                            ),
                        ],
                        unit="ops",
                        tags=["postgresql"],
                        width=8,
                    ),
                    timeseries(
                        "Connections by state",
                        [
                            target(
                                f"sum by (instance, state) (pg_stat_activity_count{{{inst}}})",
                                "{{instance}} {{state}}",
                            ),
                            target(f"max by (instance) (pg_settings_max_connections{{{inst}}})", "{{instance}} max"),
                        ],
                        tags=["postgresql"],
                        width=8,
                    ),
                    timeseries(
                        "Longest open transaction",
                        [target(f"max by (instance) (pg_stat_activity_max_tx_duration{{{inst}}})", "{{instance}}")],
                        unit="s",
                        tags=["postgresql"],
                        description="Long transactions hold back vacuum and can block the sink's writes.",
                        width=8,
                    ),
                    timeseries(
                        "Locks by mode",
                        [target(f"sum by (instance, mode) (pg_locks_count{{{inst}}})", "{{instance}} {{mode}}")],
                        tags=["postgresql"],
                        width=8,
                    ),
                    timeseries(
                        "Cache hit ratio and deadlocks",
                        [
                            target(
                                f"sum by (instance) (rate(pg_stat_database_blks_hit{{{inst}}}[$__rate_interval])) / "
                                f"clamp_min(sum by (instance) (rate(pg_stat_database_blks_hit{{{inst}}}[$__rate_interval])) "
                                f"+ sum by (instance) (rate(pg_stat_database_blks_read{{{inst}}}[$__rate_interval])), 1)",
                                "{{instance}} hit ratio",
                            ),
                            target(
                                f"sum by (instance) (increase(pg_stat_database_deadlocks{{{inst}}}[$__rate_interval]))",
                                "{{instance}} deadlocks",
                            ),
                        ],
                        tags=["postgresql"],
                        width=8,
                    ),
                ],
            ),
            row(
                "Storage, WAL archiving and checkpoints",
                [
                    timeseries(
                        "Database size",
                        [
                            target(
                                f'max by (datname) (pg_database_size_bytes{{role="primary", {db}}})',
                                "{{datname}}",
                            )
                        ],
                        unit="bytes",
                        tags=["postgresql"],
                        width=8,
                    ),
                    timeseries(
                        "WAL archiving (pgBackRest archive_command)",
                        [
                            target(
                                f"sum by (instance) (increase(pg_stat_archiver_archived_count{{{inst}}}[$__rate_interval]))",
                                "{{instance}} archived",
                            ),
                            target(
                                f"sum by (instance) (increase(pg_stat_archiver_failed_count{{{inst}}}[$__rate_interval]))",
                                "{{instance}} failed",
                            ),
                        ],
                        tags=["postgresql"],
                        description="Failed archiving keeps WAL on the primary's disk until it succeeds.",
                        width=8,
                    ),
                    timeseries(
                        "Checkpoints (timed and requested) /s",
                        [
                            target(
                                f"sum by (instance) (rate(pg_stat_bgwriter_checkpoints_timed_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} timed",
                            ),
                            target(
                                f"sum by (instance) (rate(pg_stat_bgwriter_checkpoints_req_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} requested",
                            ),
                        ],
                        unit="ops",
                        tags=["postgresql"],
                        description="Requested checkpoints outnumbering timed ones: max_wal_size is too small for the write load.",
                        width=8,
                    ),
                ],
            ),
            row(
                "Backups",
                [
                    timeseries(
                        "Age of the newest backup per type",
                        [
                            target(
                                "time() - max by (stanza, type) (cdc_pgbackrest_last_backup_timestamp_seconds)",
                                "{{stanza}} {{type}}",
                            )
                        ],
                        unit="s",
                        tags=["pgbackrest"],
                        description="PgBackRestBackupTooOld: any type older than 26 h; PgBackRestFullBackupTooOld: full older than 8 days.",
                        width=24,
                    ),
                ],
            ),
            row(
                "PgBouncer",
                [
                    stat(
                        "PgBouncer answering",
                        [target(f"min(pgbouncer_up{{{inst}}})", instant=True)],
                        tags=["pgbouncer"],
                        steps=[(None, "red"), (1, "green")],
                        mappings=up_down_mapping(),
                        description="The exporter reached PgBouncer's admin console on its last scrape (pgbouncer_up).",
                    ),
                    stat(
                        "Oldest waiting client",
                        [target(f"max(pgbouncer_max_wait_seconds{{{inst}}})", instant=True)],
                        unit="s",
                        tags=["pgbouncer"],
                        steps=[(None, "green"), (1, "orange"), (5, "red")],
                        description="Seconds the oldest client of any pool has waited for a server connection.",
                    ),
                    timeseries(
                        "Client connections (active and waiting)",
                        [
                            target(
                                f"sum by (instance, database) (pgbouncer_active_clients{{{inst}}})",
                                "{{instance}} {{database}} active",
                            ),
                            target(
                                f"sum by (instance, database) (pgbouncer_waiting_clients{{{inst}}})",
                                "{{instance}} {{database}} waiting",
                            ),
                        ],
                        tags=["pgbouncer"],
                        description="Waiting clients: the pool is too small for the load.",
                        width=8,
                    ),
                    timeseries(
                        "Server connections (active and idle)",
                        [
                            target(
                                f"sum by (instance, database) (pgbouncer_active_servers{{{inst}}})",
                                "{{instance}} {{database}} active",
                            ),
                            target(
                                f"sum by (instance, database) (pgbouncer_idle_servers{{{inst}}})",
                                "{{instance}} {{database}} idle",
                            ),
                        ],
                        tags=["pgbouncer"],
                        width=8,
                    ),
                    timeseries(
                        "Transactions and queries pooled /s",
                        [
                            target(
                                f"sum by (instance, database) (rate(pgbouncer_transactions_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} {{database}} transactions",
                            ),
                            target(
                                f"sum by (instance, database) (rate(pgbouncer_queries_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} {{database}} queries",
                            ),
                        ],
                        unit="ops",
                        tags=["pgbouncer"],
                    ),
                    timeseries(
                        "Client wait per transaction (avg)",
                        [
                            target(
                                f"sum by (instance) (rate(pgbouncer_client_wait_microseconds_total{{{inst}}}[$__rate_interval])) / "
                                f"clamp_min(sum by (instance) (rate(pgbouncer_transactions_total{{{inst}}}[$__rate_interval])), 1)",
                                "{{instance}}",
                            )
                        ],
                        unit="µs",
                        tags=["pgbouncer"],
                    ),
                ],
            ),
        ],
        variables=[
            variable_query("instance", "Server", 'label_values(up{job=~"postgresql|pgbouncer"}, instance)'),
            variable_query(
                "database", "Database", "label_values(pg_stat_database_xact_commit, datname)", all_value=".+"
            ),
        ],
    )


def vault():
    inst = 'instance=~"$instance"'
    return dashboard(
        "cdc-vault",
        "OpenBao / Vault",
        "The secrets cluster (raft): seal state, the active node, autopilot, requests, leases and raft storage. "
        "Runbook: docs/runbook-vault.md.",
        [
            row(
                "Cluster",
                [
                    stat(
                        "Nodes answering",
                        [target(f'sum(up{{job="vault", {inst}}})', instant=True)],
                        tags=["vault"],
                        description="A sealed node refuses the metrics endpoint, so it counts as not answering (VaultUnreachable).",
                    ),
                    stat(
                        "Nodes unsealed",
                        [target(f"sum(vault_core_unsealed{{{inst}}})", instant=True)],
                        tags=["vault"],
                    ),
                    stat(
                        "Active nodes",
                        [target(f"sum(vault_core_active{{{inst}}})", instant=True)],
                        tags=["vault"],
                        steps=[(None, "red"), (1, "green"), (2, "red")],
                        description="Exactly one node is active; the standbys forward to it.",
                    ),
                    stat(
                        "Autopilot healthy",
                        [target(f"min(vault_autopilot_healthy{{{inst}}})", instant=True)],
                        tags=["vault"],
                        steps=[(None, "red"), (1, "green")],
                        mappings=[
                            {
                                "type": "value",
                                "options": {
                                    "0": {"text": "UNHEALTHY", "color": "red"},
                                    "1": {"text": "HEALTHY", "color": "green"},
                                },
                            }
                        ],
                        description="Reported by the active node.",
                    ),
                    stat(
                        "Failure tolerance",
                        [target(f"max(vault_autopilot_failure_tolerance{{{inst}}})", instant=True)],
                        tags=["vault"],
                        steps=[(None, "red"), (1, "green")],
                        description="Voters the cluster can lose and keep quorum: 1 for 3 nodes.",
                    ),
                    stat(
                        "Leases",
                        [target(f"max(vault_expire_num_leases{{{inst}}})", instant=True)],
                        tags=["vault"],
                    ),
                ],
            ),
            row(
                "Requests",
                [
                    timeseries(
                        "Requests /s per node",
                        [
                            target(
                                f"sum by (instance) (rate(vault_core_handle_request_count{{{inst}}}[$__rate_interval]))",
                                "{{instance}}",
                            )
                        ],
                        unit="reqps",
                        tags=["vault"],
                        width=8,
                    ),
                    timeseries(
                        "Average request time",
                        [
                            target(
                                f"sum by (instance) (rate(vault_core_handle_request_sum{{{inst}}}[$__rate_interval])) / "
                                f"clamp_min(sum by (instance) (rate(vault_core_handle_request_count{{{inst}}}[$__rate_interval])), 0.001)",
                                "{{instance}}",
                            )
                        ],
                        unit="ms",
                        tags=["vault"],
                        width=8,
                    ),
                    timeseries(
                        "Audit log write failures /s",
                        [
                            target(
                                f"sum by (instance) (rate(vault_audit_log_request_failure{{{inst}}}[$__rate_interval]))",
                                "{{instance}} requests",
                            ),
                            target(
                                f"sum by (instance) (rate(vault_audit_log_response_failure{{{inst}}}[$__rate_interval]))",
                                "{{instance}} responses",
                            ),
                        ],
                        unit="ops",
                        tags=["vault"],
                        description="With every audit device failing, OpenBao refuses requests.",
                        width=8,
                    ),
                ],
            ),
            row(
                "Raft storage",
                [
                    timeseries(
                        "Applied index per node",
                        [target(f"vault_raft_storage_stats_applied_index{{{inst}}}", "{{instance}}")],
                        tags=["vault"],
                        description="Followers whose index stays behind the leader's are not keeping up.",
                    ),
                    timeseries(
                        "Commits behind (commit index - applied index)",
                        [
                            target(
                                f"vault_raft_storage_stats_commit_index{{{inst}}} - vault_raft_storage_stats_applied_index{{{inst}}}",
                                "{{instance}}",
                            )
                        ],
                        tags=["vault"],
                        minimum=0,
                    ),
                ],
            ),
            row(
                "Runtime",
                [
                    timeseries(
                        "Memory allocated",
                        [target(f"vault_runtime_alloc_bytes{{{inst}}}", "{{instance}}")],
                        unit="bytes",
                        tags=["vault"],
                    ),
                    timeseries(
                        "Goroutines",
                        [target(f"vault_runtime_num_goroutines{{{inst}}}", "{{instance}}")],
                        tags=["vault"],
                    ),
                ],
                collapsed=True,
            ),
        ],
        variables=[variable_query("instance", "Node", 'label_values(up{job="vault"}, instance)')],
    )


def hosts():
    inst = 'instance=~"$instance"'
    fs = 'fstype!~"tmpfs|ramfs|squashfs|nsfs"'
    return dashboard(
        "cdc-hosts",
        "Hosts",
        "Every pipeline host through node exporter: CPU, memory, disks, network, and the certificate expiry the "
        "textfile collector reports.",
        [
            row(
                "Overview",
                [
                    stat("Hosts up", [target(f'sum(up{{job="node", {inst}}})', instant=True)], tags=["node"]),
                    stat(
                        "Hosts down",
                        [
                            target(
                                f'count(up{{job="node", {inst}}} == 0) or 0 * count(up{{job="node", {inst}}})',
                                instant=True,
                            )
                        ],
                        tags=["node"],
                        steps=[(None, "green"), (1, "red")],
                        description="NodeDown pages after 2 minutes.",
                    ),
                    stat(
                        "Lowest free space",
                        [
                            target(
                                f"min(node_filesystem_avail_bytes{{{inst}, {fs}}} / node_filesystem_size_bytes{{{inst}, {fs}}})",
                                instant=True,
                            )
                        ],
                        unit="percentunit",
                        tags=["node"],
                        steps=[(None, "red"), (0.1, "orange"), (0.2, "green")],
                    ),
                    timeseries(
                        "Uptime",
                        [target(f"time() - node_boot_time_seconds{{{inst}}}", "{{instance}}")],
                        unit="s",
                        tags=["node"],
                        width=12,
                        height=4,
                    ),
                ],
            ),
            row(
                "CPU and memory",
                [
                    timeseries(
                        "CPU busy",
                        [
                            target(
                                f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle", {inst}}}[$__rate_interval]))',
                                "{{instance}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["node"],
                        width=8,
                        minimum=0,
                    ),
                    timeseries(
                        "Load (1 min) per core",
                        [
                            target(
                                f"node_load1{{{inst}}} / on (instance) "
                                f'count by (instance) (node_cpu_seconds_total{{mode="idle", {inst}}})',
                                "{{instance}}",
                            )
                        ],
                        tags=["node"],
                        width=8,
                    ),
                    timeseries(
                        "Memory available",
                        [
                            target(
                                f"node_memory_MemAvailable_bytes{{{inst}}} / node_memory_MemTotal_bytes{{{inst}}}",
                                "{{instance}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["node"],
                        width=8,
                        minimum=0,
                    ),
                ],
            ),
            row(
                "Disks and network",
                [
                    timeseries(
                        "Free space per filesystem",
                        [
                            target(
                                f"node_filesystem_avail_bytes{{{inst}, {fs}}} / node_filesystem_size_bytes{{{inst}, {fs}}}",
                                "{{instance}} {{mountpoint}}",
                            )
                        ],
                        unit="percentunit",
                        tags=["node"],
                        description="NodeDiskFillingUp / NodeDiskFillingUpSoon look at the trend of the same ratio.",
                        width=8,
                        minimum=0,
                    ),
                    timeseries(
                        "Disk read and write /s",
                        [
                            target(
                                f"sum by (instance) (rate(node_disk_read_bytes_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} read",
                            ),
                            target(
                                f"sum by (instance) (rate(node_disk_written_bytes_total{{{inst}}}[$__rate_interval]))",
                                "{{instance}} written",
                            ),
                        ],
                        unit="Bps",
                        tags=["node"],
                        width=8,
                    ),
                    timeseries(
                        "Network received and sent /s",
                        [
                            target(
                                f'sum by (instance) (rate(node_network_receive_bytes_total{{device!="lo", {inst}}}[$__rate_interval]))',
                                "{{instance}} in",
                            ),
                            target(
                                f'sum by (instance) (rate(node_network_transmit_bytes_total{{device!="lo", {inst}}}[$__rate_interval]))',
                                "{{instance}} out",
                            ),
                        ],
                        unit="Bps",
                        tags=["node"],
                        width=8,
                    ),
                ],
            ),
            row(
                "Certificates and textfile metrics",
                [
                    timeseries(
                        "Days until each certificate expires",
                        [
                            target(
                                f"(min by (instance, service, path) (cdc_certificate_expiry_timestamp_seconds{{{inst}}}) - time()) / 86400",
                                "{{instance}} {{service}} {{path}}",
                            )
                        ],
                        unit="d",
                        tags=["certificates"],
                        description="PKI certificates last 30 days and are renewed with 10 left: CertificateExpiringSoon at 7, "
                        "CertificateExpiryImminent at 2.",
                        width=16,
                    ),
                    timeseries(
                        "Textfile collector errors",
                        [target(f"node_textfile_scrape_error{{{inst}}}", "{{instance}}")],
                        tags=["node"],
                        description="1: a *.prom file could not be read, so its metrics (backups, certificates) are missing.",
                        width=8,
                    ),
                ],
            ),
        ],
        variables=[variable_query("instance", "Host", 'label_values(up{job="node"}, instance)')],
    )


DASHBOARDS = {
    "pipeline-overview.json": overview,
    "kafka.json": kafka,
    "kafka-connect.json": connect,
    "postgresql.json": postgresql,
    "vault.json": vault,
    "hosts.json": hosts,
}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report files that differ, write nothing")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = args.out_dir / name
        text = render(build)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            stale.append(str(path))
        else:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("dashboards differ from scripts/gen_dashboards.py (run it and commit the JSON):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
