"""The AWX definitions (roles/awx_jobs) load, and their surveys ask what the playbooks read.

No AWX server is reachable here, so what can be proven without one is proven:
- every job template and schedule the role would send passes the argument spec of the awx.awx module it goes to,
  and every awx.awx task of the role uses parameters that module has;
- every survey question passes AWX's own survey rules (the filter applies them; bad questions are refused here);
- every survey variable is a playbook's run-time variable (playbooks/vars/run_arguments.yml) or a role variable,
  with the same type, choices within the declared ones, and a boolean asked as "true"/"false" is read with `| bool`
  wherever it is used (a survey answers strings, and the string "false" is true);
- the operational playbooks each have a template, and the schedules exist only where AWX schedules.
Each template's playbook runs under ansible-runner in the pipeline scenario's make chaos
(molecule/pipeline/verify_awx.yml).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.cdc.pipeline.plugins.filter.awx import awx_job_templates, awx_schedules

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE = REPO_ROOT / "roles" / "awx_jobs"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
TEMPLATES = DEFAULTS["awx_jobs_templates"]
PROBES = yaml.safe_load((REPO_ROOT / "roles" / "golive" / "vars" / "main.yml").read_text())["golive_all_probes"]
RUN_ARGUMENTS = yaml.safe_load((REPO_ROOT / "playbooks" / "vars" / "run_arguments.yml").read_text())["run_arguments"]
# The playbooks an operator runs (the list): each needs a template.
OPERATIONAL = {
    "site.yml",
    "infrastructure.yml",
    "security.yml",
    "services.yml",
    "connectors.yml",
    "validate.yml",
    "go_live.yml",
    "deploy_connectors.yml",
    "rotate_secrets.yml",
    "backup_offsets.yml",
    "vault_snapshot.yml",
    "reconcile.yml",
    "postgresql_restore.yml",
    "postgresql_promote.yml",
    "kafka_upgrade.yml",
    "alert_test.yml",
    "vault_unseal.yml",
}
SURVEY_TYPE = {"text": "str", "textarea": "str", "password": "str", "multiplechoice": "str", "integer": "int",
               "float": "float", "multiselect": "list"}  # fmt: skip


def rendered(templates=TEMPLATES, **overrides):
    args = {
        "prefix": DEFAULTS["awx_jobs_name_prefix"],
        "project": DEFAULTS["awx_jobs_project"],
        "inventory": "production",
        "credentials": ["admin ssh", DEFAULTS["awx_jobs_admin_credential"]],
        "execution_environment": "cdc.pipeline",
        "choice_lists": {"golive_all_probes": PROBES},
    }
    args.update(overrides)
    return awx_job_templates(templates, **args)


class _SpecCaught(Exception):
    pass


def module_spec(monkeypatch, name: str) -> dict:
    """The argument spec an awx.awx module declares, caught where it builds its controller module."""
    module = __import__(f"ansible_collections.awx.awx.plugins.modules.{name}", fromlist=["main"])

    def catch(*_args, **kwargs):
        raise _SpecCaught(kwargs["argument_spec"])

    monkeypatch.setattr(module, "ControllerAPIModule", catch)
    with pytest.raises(_SpecCaught) as caught:
        module.main()
    spec = dict(caught.value.args[0])
    # The connection options come from the module_defaults group (or the environment).
    for option in ("controller_host", "controller_oauthtoken", "validate_certs"):
        spec.setdefault(option, {"type": "raw"})
    return spec


def assert_accepted(spec: dict, params: dict):
    result = ArgumentSpecValidator(spec).validate(params)
    assert not result.error_messages, (params.get("name"), result.error_messages)


def test_every_job_template_passes_the_modules_argument_spec(monkeypatch):
    spec = module_spec(monkeypatch, "job_template")
    templates = rendered()
    assert len(templates) == len(TEMPLATES)
    for params in templates:
        assert_accepted(spec, {**params, "organization": "Default", "state": "present"})


def test_every_schedule_passes_the_modules_argument_spec(monkeypatch):
    spec = module_spec(monkeypatch, "schedule")
    schedules = awx_schedules(TEMPLATES, DEFAULTS["awx_jobs_name_prefix"], "awx")
    assert {one["unified_job_template"] for one in schedules} <= {one["name"] for one in rendered()}
    for params in schedules:
        assert_accepted(spec, params)


@pytest.mark.parametrize("module", ["credential_type", "credential", "job_template", "schedule"])
def test_the_roles_tasks_use_parameters_the_modules_have(monkeypatch, module):
    spec = module_spec(monkeypatch, module)
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    block = next(task["block"] for task in tasks if "block" in task)
    used = [task[f"awx.awx.{module}"] for task in block if f"awx.awx.{module}" in task]
    assert used, f"the role has no awx.awx.{module} task"
    aliases = {alias for option in spec.values() for alias in option.get("aliases", [])}
    for params in used:
        assert set(params) <= set(spec) | aliases, set(params) - set(spec) - aliases


def test_the_credential_type_injects_what_the_store_login_reads():
    tasks = (ROLE / "tasks" / "main.yml").read_text()
    login = (REPO_ROOT / "roles" / "vault" / "tasks" / "login.yml").read_text()
    for variable in ("vault_admin_role_id", "vault_admin_secret_id"):
        assert f"{variable}: " in tasks
        assert variable in login


def test_each_operational_playbook_has_a_template():
    playbooks = {template["playbook"].removeprefix("playbooks/") for template in TEMPLATES}
    assert OPERATIONAL <= playbooks, OPERATIONAL - playbooks
    for template in TEMPLATES:
        assert (REPO_ROOT / template["playbook"]).is_file(), template["playbook"]


def role_options() -> dict:
    options = {}
    for spec_file in REPO_ROOT.glob("roles/*/meta/argument_specs.yml"):
        role = spec_file.parts[-3]
        for entry in (yaml.safe_load(spec_file.read_text())["argument_specs"] or {}).values():
            for name, option in (entry.get("options") or {}).items():
                options.setdefault(name, (role, option))
    return options


def code_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]


def survey_questions():
    for template in rendered():
        for question in template["survey_spec"].get("spec", []):
            yield template["playbook"], question


@pytest.mark.parametrize(("playbook", "question"), list(survey_questions()), ids=lambda value: str(value)[:40])
def test_a_survey_variable_is_declared_with_the_same_type(playbook, question):
    variable = question["variable"]
    declared = RUN_ARGUMENTS.get(playbook, {}).get(variable)
    read_by = [REPO_ROOT / playbook]
    if declared is None:
        role, declared = role_options().get(variable, (None, None))
        assert declared is not None, f"{variable}: neither in run_arguments.yml for {playbook} nor a role variable"
        read_by = list((REPO_ROOT / "roles" / role).glob("**/*.yml")) + read_by
    assert any(variable in "\n".join(code_lines(path)) for path in read_by), f"nothing reads {variable}"
    kind = declared.get("type", "str")
    if kind == "bool":
        # A survey answers strings: "true"/"false", read through | bool wherever the variable is used.
        assert question["type"] == "multiplechoice" and set(question["choices"]) == {"true", "false"}, question
        uses = [line for path in read_by for line in code_lines(path) if re.search(rf"\b{variable}\b(?![:=])", line)]
        bare = [line.strip() for line in uses if "{{" in line or "when:" in line or "that:" in line]
        bare = [line for line in bare if not re.search(rf"{variable}( \| default\([^)]*\))? \| bool", line)]
        assert not bare, f"{variable} is read without | bool: {bare}"
    else:
        assert SURVEY_TYPE[question["type"]] == kind, (variable, question["type"], kind)
    if declared.get("choices") and question.get("choices"):
        assert set(question["choices"]) <= set(declared["choices"]), (variable, question["choices"])


def test_the_go_live_survey_offers_exactly_the_probes():
    (template,) = [one for one in rendered() if one["playbook"] == "playbooks/go_live.yml"]
    (question,) = template["survey_spec"]["spec"]
    assert question["choices"] == PROBES


def test_every_run_argument_is_read_by_its_playbook():
    for playbook, variables in RUN_ARGUMENTS.items():
        text = "\n".join(code_lines(REPO_ROOT / playbook))
        for variable in variables:
            assert re.search(rf"\b{variable}\b", text), f"{playbook} does not read {variable}"


def period_hours(rule: str) -> float:
    freq = re.search(r"FREQ=(\w+)", rule)[1]
    interval = int((re.search(r"INTERVAL=(\d+)", rule) or [None, "1"])[1])
    return {"MINUTELY": 1 / 60, "HOURLY": 1, "DAILY": 24, "WEEKLY": 168, "MONTHLY": 31 * 24}[freq] * interval


def test_the_schedules_keep_the_documented_cadence():
    rules = {one["playbook"]: one["schedule"] for one in TEMPLATES if one.get("schedule")}
    # secrets rotate within 90 days, even when one run fails
    assert 2 * period_hours(rules["playbooks/rotate_secrets.yml"]) < 90 * 24
    assert period_hours(rules["playbooks/backup_offsets.yml"]) <= 1
    assert period_hours(rules["playbooks/vault_snapshot.yml"]) <= 24
    assert period_hours(rules["playbooks/reconcile.yml"]) <= 24


def test_the_scheduler_decides_whether_the_schedules_exist():
    prefix = DEFAULTS["awx_jobs_name_prefix"]
    assert {one["state"] for one in awx_schedules(TEMPLATES, prefix, "awx")} == {"present"}
    assert {one["state"] for one in awx_schedules(TEMPLATES, prefix, "systemd")} == {"absent"}
    with pytest.raises(AnsibleFilterError, match="systemd or awx"):
        awx_schedules(TEMPLATES, prefix, "cron")
    timer = (REPO_ROOT / "playbooks" / "tasks" / "playbook_timer.yml").read_text()
    assert "cdc_scheduler | default('systemd') == 'awx'" in timer  # where AWX schedules, the timer goes


BAD = [
    ({"type": "checkbox"}, "not an AWX question type"),
    ({"type": "multiplechoice", "choices": ["a", "b"], "default": "c"}, "not among the choices"),
    ({"type": "multiplechoice", "choices": ["a", "b"], "default": "a\nb"}, "one choice"),
    ({"type": "multiselect"}, "needs choices"),
    ({"type": "integer", "default": "5"}, "not a integer answer"),
    ({"type": "integer", "min": "1"}, "min is an integer"),
    ({"type": "text", "default": "abc", "max": 2}, "outside min/max"),
    ({"type": "password", "default": "hunter2"}, "password question has no default"),
    ({"type": "text", "choices": ["a"]}, "only multiplechoice and multiselect"),
    ({"type": "multiselect", "choices_from": "nothing"}, "choices_from names"),
    ({"type": "text", "variable": "not a name"}, "variable name"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[message for _, message in BAD])
def test_a_question_awx_would_refuse_is_refused_before_any_call(change, message):
    question = {"variable": "x", "question_name": "X?", "type": "text", **change}
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        rendered([{"name": "t", "playbook": "playbooks/site.yml", "survey": [question]}])


def test_bad_templates_are_refused():
    with pytest.raises(AnsibleFilterError, match="ask takes"):
        rendered([{"name": "t", "playbook": "p.yml", "ask": ["inventory"]}])
    with pytest.raises(AnsibleFilterError, match="two templates"):
        rendered([{"name": "t", "playbook": "p.yml"}, {"name": "t", "playbook": "q.yml"}])
    with pytest.raises(AnsibleFilterError, match="schedule is"):
        rendered([{"name": "t", "playbook": "p.yml", "schedule": "FREQ=DAILY"}])
    with pytest.raises(AnsibleFilterError, match="schedule is"):  # a floating local time: AWX wants Z or TZID
        rendered([{"name": "t", "playbook": "p.yml", "schedule": "DTSTART:20260101T000000 RRULE:FREQ=DAILY"}])
    question = {"variable": "x", "question_name": "X?", "type": "text"}
    with pytest.raises(AnsibleFilterError, match="one variable twice"):
        rendered([{"name": "t", "playbook": "p.yml", "survey": [question, question]}])
