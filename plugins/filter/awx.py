# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The awx_jobs role's definitions turned into awx.awx module parameters, checked as AWX checks them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

ASK_PROMPTS = ("job_type", "limit", "tags", "diff_mode", "variables")
# AWX's question types and the Python type of a default it accepts for each (its survey_spec endpoint).
QUESTION_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "multiplechoice": str,
    "multiselect": str,
    "integer": int,
    "float": float,
}
_VARIABLE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# AWX takes a DTSTART in UTC (Z) or with a time zone (TZID), not a floating local time.
_RRULE = re.compile(
    r"^DTSTART(:\d{8}T\d{6}Z|;TZID=[^:]+:\d{8}T\d{6}) RRULE:FREQ=(MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)"
    r"(;[A-Z]+=[^; ]+)*$"
)


def _fail(template, message):
    raise AnsibleFilterError("awx_jobs_templates, %s: %s" % (template, message))


def _choices(where, question, kind, choice_lists):
    choices = question.get("choices")
    if "choices_from" in question:
        if question["choices_from"] not in choice_lists:
            _fail(where, "choices_from names %r, which this run does not know" % question["choices_from"])
        choices = list(choice_lists[question["choices_from"]])
    if kind not in ("multiplechoice", "multiselect"):
        if choices:
            _fail(where, "only multiplechoice and multiselect questions have choices")
        return None
    if not choices or not all(isinstance(choice, str) and choice.strip() for choice in choices):
        _fail(where, "a %s question needs choices, each a non-empty string" % kind)
    return list(choices)


def _check_default(where, out):
    default, kind = out["default"], out["type"]
    if kind == "password":
        _fail(where, "a password question has no default: the secret would sit in the definitions")
    if default == "":
        return
    if isinstance(default, bool) or not isinstance(default, QUESTION_TYPES[kind]):
        _fail(where, "the default %r is not a %s answer" % (default, kind))
    if kind in ("multiplechoice", "multiselect"):
        picked = default.splitlines()
        if kind == "multiplechoice" and len(picked) != 1:
            _fail(where, "a multiplechoice default is one choice")
        if any(one not in out["choices"] for one in picked):
            _fail(where, "the default %r is not among the choices %s" % (default, out["choices"]))
    if kind in ("text", "textarea") and not out.get("min", 0) <= len(default) <= out.get("max", len(default)):
        _fail(where, "the default is outside min/max")


def _question(template, question, choice_lists):
    """One survey question, completed and checked with the rules of AWX's survey_spec endpoint."""
    out = {
        "question_name": question.get("question_name", ""),
        "question_description": question.get("question_description", ""),
        "variable": question.get("variable", ""),
        "type": question.get("type", ""),
        "required": question.get("required", False),
    }
    where = "%s (%s)" % (template, out["variable"] or "question without a variable")
    if not out["question_name"] or not _VARIABLE.match(out["variable"]):
        _fail(where, "a question needs question_name and a variable name (letters, digits, _)")
    if out["type"] not in QUESTION_TYPES:
        _fail(where, "type %r is not an AWX question type (%s)" % (out["type"], ", ".join(sorted(QUESTION_TYPES))))
    if not isinstance(out["required"], bool):
        _fail(where, "required is true or false")
    choices = _choices(where, question, out["type"], choice_lists)
    if choices is not None:
        out["choices"] = choices
    for limit in ("min", "max"):
        if limit in question:
            if isinstance(question[limit], bool) or not isinstance(question[limit], int):
                _fail(where, "%s is an integer" % limit)
            out[limit] = question[limit]
    if "default" in question:
        out["default"] = question["default"]
        _check_default(where, out)
    return out


def awx_job_templates(templates, prefix, project, inventory, credentials, execution_environment="", choice_lists=None):
    """Parameters of awx.awx.job_template for each definition, in order; fails on the first bad one."""
    out, names = [], set()
    for template in templates or []:
        name = template.get("name")
        if not name or not template.get("playbook"):
            _fail(name or "a template without a name", "every template has a name and a playbook")
        if name in names:
            _fail(name, "two templates have this name")
        names.add(name)
        unknown = set(template.get("ask") or []) - set(ASK_PROMPTS)
        if unknown:
            _fail(name, "ask takes %s, not %s" % (", ".join(ASK_PROMPTS), ", ".join(sorted(unknown))))
        questions = [_question(name, question, choice_lists or {}) for question in template.get("survey") or []]
        variables = [question["variable"] for question in questions]
        if len(variables) != len(set(variables)):
            _fail(name, "a survey asks for one variable twice")
        if template.get("schedule") and not _RRULE.match(template["schedule"]):
            _fail(name, "schedule is 'DTSTART:YYYYMMDDTHHMMSSZ RRULE:FREQ=...', not %r" % template["schedule"])
        asked = set(template.get("ask") or [])
        params = {
            "name": prefix + name,
            "description": template.get("description", ""),
            "job_type": "run",
            "project": project,
            "inventory": inventory,
            "playbook": template["playbook"],
            "credentials": [one for one in credentials if one],
            "ask_job_type_on_launch": "job_type" in asked,
            "ask_limit_on_launch": "limit" in asked,
            "ask_tags_on_launch": "tags" in asked,
            "ask_diff_mode_on_launch": "diff_mode" in asked,
            "ask_variables_on_launch": "variables" in asked,
            "job_tags": ",".join(template.get("job_tags") or []),
            # Two runs of one operational playbook at once (two rotations, two restores) must not happen.
            "allow_simultaneous": False,
            "survey_enabled": bool(questions),
            "survey_spec": {"name": name, "description": template.get("description", ""), "spec": questions}
            if questions
            else {},
        }
        if execution_environment:
            params["execution_environment"] = execution_environment
        out.append(params)
    return out


def awx_schedules(templates, prefix, scheduler):
    """Parameters of awx.awx.schedule for each definition with a schedule: present only where AWX schedules."""
    if scheduler not in ("systemd", "awx"):
        raise AnsibleFilterError("cdc_scheduler is systemd or awx, not %r" % (scheduler,))
    return [
        {
            "name": "%s%s schedule" % (prefix, template["name"]),
            "unified_job_template": prefix + template["name"],
            "rrule": template["schedule"],
            "description": "cdc_scheduler is %s" % scheduler,
            "state": "present" if scheduler == "awx" else "absent",
            "enabled": True,
        }
        for template in templates or []
        if template.get("schedule")
    ]


class FilterModule(object):
    def filters(self):
        return {"awx_job_templates": awx_job_templates, "awx_schedules": awx_schedules}
