"""The text-format rendering of the run records (plugins/filter/prometheus.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.prometheus import prometheus_textfile

pytestmark = pytest.mark.unit


def test_series_of_one_name_share_their_help_and_type_and_labels_are_escaped():
    text = prometheus_textfile(
        [
            {"name": "cdc_rows", "help": "Rows\n differing.", "labels": {"table": 'a"b\\c', "db": "x"}, "value": 3},
            {"name": "cdc_age", "value": 1.5},
            {"name": "cdc_rows", "labels": {"table": "line\nfeed"}, "value": "0"},
        ]
    )
    assert text == (
        "# HELP cdc_rows Rows differing.\n"
        "# TYPE cdc_rows gauge\n"
        'cdc_rows{db="x",table="a\\"b\\\\c"} 3\n'
        'cdc_rows{table="line\\nfeed"} 0.0\n'
        "# HELP cdc_age cdc_age\n"
        "# TYPE cdc_age gauge\n"
        "cdc_age 1.5\n"
    )


def test_nothing_to_write_is_an_empty_document():
    assert prometheus_textfile([]) == ""


@pytest.mark.parametrize(
    "series",
    [
        {"name": "node_load1", "value": 1},
        {"name": "cdc_x-y", "value": 1},
        {"name": "cdc_x", "labels": {"bad-label": "v"}, "value": 1},
        {"name": "cdc_x", "labels": {"__name__": "v"}, "value": 1},
        {"name": "cdc_x", "value": "many"},
        {"name": "cdc_x", "value": float("nan")},
        {"name": "cdc_x", "value": True},
    ],
)
def test_what_the_collector_would_refuse_fails_the_task(series):
    with pytest.raises(AnsibleFilterError):
        prometheus_textfile([series])
