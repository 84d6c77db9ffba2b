"""systemd unit templates: every Environment= assignment is one quoted word.

systemd splits an unquoted Environment= value at spaces: Environment=KAFKA_HEAP_OPTS=-Xms1g -Xmx2g set
KAFKA_HEAP_OPTS=-Xms1g and dropped -Xmx2g ("Invalid environment assignment, ignoring"), so the brokers
and workers ran with the JVM's default maximum heap instead of the configured one.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import jinja2

REPO = Path(__file__).resolve().parents[2]
UNIT_TEMPLATES = sorted(p for p in REPO.glob("roles/*/templates/*.j2") if "[Service]" in p.read_text())
ENVIRONMENT = re.compile(r"(?m)^Environment=(.*)$")


def test_there_are_unit_templates():
    assert len(UNIT_TEMPLATES) >= 5


def test_every_environment_assignment_is_quoted():
    unquoted = [
        f"{path.relative_to(REPO)}: {value}"
        for path in UNIT_TEMPLATES
        for value in ENVIRONMENT.findall(path.read_text())
        if not (value.startswith('"') and value.endswith('"'))
    ]
    assert unquoted == []


def test_a_heap_setting_with_spaces_stays_one_variable():
    template = (REPO / "roles/kafka/templates/kafka.service.j2").read_text()
    line = next(line for line in template.splitlines() if "KAFKA_HEAP_OPTS" in line)
    rendered = jinja2.Template(line).render(kafka_heap_opts="-Xms1g -Xmx2g")
    # systemd's rule for Environment=: whitespace-separated words, quotes group a word.
    words = shlex.split(rendered.split("=", 1)[1])
    assert words == ["KAFKA_HEAP_OPTS=-Xms1g -Xmx2g"]
