"""tests/tools/run_job_templates.py builds a job's extra variables as AWX does at launch."""

from __future__ import annotations

import pytest

from tests.tools.run_job_templates import launch_vars, templates

pytestmark = pytest.mark.unit

BY_NAME = {template["name"].split(": ", 1)[1]: template for template in templates()}


def test_survey_defaults_awx_accepts_are_applied():
    assert launch_vars(BY_NAME["PostgreSQL restore"], {}) == {"postgresql_restore_target_time": ""}
    upgrade = launch_vars(BY_NAME["Kafka upgrade"], {"kafka_upgrade_version": "4.4.0"})
    assert upgrade["kafka_upgrade_finalize"] == "false"


def test_an_unanswered_question_without_default_is_left_to_the_playbook():
    assert launch_vars(BY_NAME["alert test"], {}) == {}


def test_an_empty_multiselect_is_left_out():
    # AWX applies a default only when it passes the question's validation; "" is no list, so every probe runs.
    assert launch_vars(BY_NAME["go-live"], {}) == {}
    assert launch_vars(BY_NAME["go-live"], {"golive_only_probes": ["connector_state"]}) == {
        "golive_only_probes": ["connector_state"]
    }


def test_a_required_question_without_default_needs_an_answer():
    with pytest.raises(ValueError, match="kafka_upgrade_version is required"):
        launch_vars(BY_NAME["Kafka upgrade"], {})
    assert launch_vars(BY_NAME["Kafka upgrade"], {"kafka_upgrade_version": "4.4.0"}) == {
        "kafka_upgrade_version": "4.4.0",
        "kafka_upgrade_finalize": "false",
        "kafka_upgrade_connect": "false",
        "kafka_allow_downgrade": "false",
    }


def test_an_answer_the_survey_refuses_is_refused():
    with pytest.raises(ValueError, match="refused by its survey"):
        launch_vars(BY_NAME["Kafka upgrade"], {"kafka_upgrade_version": "4"})
    with pytest.raises(ValueError, match="refused by its survey"):
        launch_vars(BY_NAME["go-live"], {"golive_only_probes": ["no_such_probe"]})
