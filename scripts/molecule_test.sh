#!/usr/bin/env bash
# `molecule test -s SCENARIO`, one step at a time, with the steps named after the scenario run by
# Ansible under Mitogen (https://mitogen.networkgenomics.com/ansible_detailed.html).
#
#   scripts/molecule_test.sh pipeline idempotence
#
# Why: under stock Ansible every task starts a new Python on each host, which unpacks and compiles
# the module and its module_utils again. Measured on the pipeline's six lab containers (docs/testing.md):
# about 0.26 s of a core on the host per task and host; under Mitogen, which keeps one interpreter per
# host and its compiled modules, about 0.03 s. On two cores that is most of a site.yml run.
#
# Which steps: only one that changes nothing a user runs differently. check, converge and side_effect
# (the Kafka upgrade and the secrets rotation) are the paths users and AWX take, so they stay on stock
# Ansible; converge also proves that every task reaches the hosts through the sshd and firewall the
# baseline hardened, which a connection Mitogen keeps open would not. idempotence re-runs converge.yml
# and counts changed tasks, which a module reports the same whatever carries it. verify stays on stock
# Ansible too: Mitogen does not find an async job again from a later play ("could not find job").
#
# Like `molecule test`: the steps of the scenario's test_sequence in order; the first failure stops
# the sequence, the scenario is destroyed in any case, and the exit code is the failed step's.
#
# A step runs as `molecule <step>`, which for some steps is a sequence of its own: the scenario's
# check_sequence must be [check] (Molecule's default converges the hosts for real around it).
#
# MOLECULE_STEPS="create converge verify destroy" runs those steps instead of the test_sequence (make
# chaos; MOLECULE_STEPS=verify on a converged scenario). After a failure the scenario is destroyed
# only when the steps include create: a partial run leaves the scenario it found, and a successful
# one leaves the scenario its last step left.
set -u
scenario=${1:?usage: [MOLECULE_STEPS=...] molecule_test.sh SCENARIO [STEP_UNDER_MITOGEN...]}
shift
[ $# -gt 0 ] || [ -n "${MOLECULE_STEPS:-}" ] || exec molecule test -s "$scenario"
mitogen_steps=" $* "

steps=$(python3 - "molecule/$scenario/molecule.yml" <<'EOF'
import sys, yaml
scenario = yaml.safe_load(open(sys.argv[1]))["scenario"]
if "check" in scenario["test_sequence"] and scenario.get("check_sequence") != ["check"]:
    sys.exit(f"{sys.argv[1]}: set scenario.check_sequence to [check] (run alone, Molecule's default converges the hosts)")
print(" ".join(scenario["test_sequence"]))
EOF
) || { echo "molecule_test.sh: cannot take the steps of molecule/$scenario/molecule.yml" >&2; exit 2; }
steps=${MOLECULE_STEPS:-$steps}

strategy_dir=$(python3 -c 'import ansible_mitogen.plugins.strategy as s, os; print(os.path.dirname(s.__file__))' 2>/dev/null) \
  || { echo "molecule_test.sh: Mitogen is not installed (make venv installs it)" >&2; exit 2; }

run_step() {
  local step=$1
  if [[ $mitogen_steps == *" $step "* ]]; then
    echo "molecule_test.sh: $step under Mitogen (strategy mitogen_linear)"
    ANSIBLE_STRATEGY_PLUGINS=$strategy_dir ANSIBLE_STRATEGY=mitogen_linear molecule "${step//_/-}" -s "$scenario"
  else
    molecule "${step//_/-}" -s "$scenario"
  fi
}

rc=0
last=${steps##* }
for step in $steps; do
  run_step "$step" || { rc=$?; echo "molecule_test.sh: $step failed (exit $rc)" >&2; break; }
done
# The test_sequence ends with destroy; after a failure it has not run yet. Chosen steps leave the scenario
# as they end, except after a failure of steps that created it (MOLECULE_STEPS="create converge" keeps a
# converged lab for benchmarks or by-hand checks; destroy it with `molecule destroy -s <scenario>`).
if [ -n "${MOLECULE_STEPS:-}" ]; then
  if [ $rc -ne 0 ] && [[ " $steps " == *" create "* ]]; then
    molecule destroy -s "$scenario" || true
  fi
elif [ $rc -ne 0 ] || [ "$last" != destroy ]; then
  molecule destroy -s "$scenario" || true
fi
exit $rc
