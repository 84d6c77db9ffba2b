# cdc.pipeline: the two commands of the README are `make demo` and `make test`.
# Every target installs what it needs; `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export CDC_ARTIFACT_DIR ?= $(CURDIR)/.cache/artifacts
STAMP := $(VENV)/.installed
TIMES := .cache/test-times.txt
SCENARIOS := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
# run a stage and record how long it took (printed again by `make test` at the end)
timed = start=$$SECONDS; echo "==> $(1)"; $(2); echo "$(1): $$((SECONDS - start))s" | tee -a $(TIMES)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# --- toolchain ------------------------------------------------------------------------------
$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

.cache/collections/ansible_collections/cdc/pipeline:
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

.PHONY: venv
venv: $(STAMP) .cache/collections/ansible_collections/cdc/pipeline ## pinned toolchain in .venv (+ the collection on the collections path)

.PHONY: lock
lock: ## re-resolve requirements.txt into constraints.txt
	$(PYTHON) -m venv .cache/lock-venv
	.cache/lock-venv/bin/pip install --quiet -r requirements.txt
	{ echo '# Full pinned set resolved from requirements.txt on Python 3.11 (pip freeze). Regenerate with `make lock`.'; \
	  .cache/lock-venv/bin/pip freeze; } > constraints.txt

# --- lab -------------------------------------------------------------------------------------
# LAB=compact (default): the whole pipeline on six containers, groups co-located
# (inventories/lab/compact.yml). LAB=full: the production-shaped 15-host lab (inventories/lab/hosts.yml).
LAB ?= compact
LAB_INVENTORY := $(if $(filter full,$(LAB)),inventories/lab/hosts.yml,$(if $(filter compact,$(LAB)),inventories/lab/compact.yml,$(error LAB must be compact or full, not '$(LAB)')))
.PHONY: lab-prereqs lab-image lab-apt-cache lab lab-destroy
lab-prereqs: ## check (and as root install) podman, runc, debootstrap, containers.conf
	scripts/lab-prereqs.sh

lab-image: lab-prereqs ## build the Debian 12 systemd image once (cached)
	scripts/build-lab-image.sh

lab-apt-cache: ## start the apt cache every lab host and Molecule platform shares (apt-cacher-ng)
	scripts/lab-apt-cache.sh start

lab: venv lab-image lab-apt-cache ## create the lab network and one container per inventory host (LAB=compact|full)
	ansible-playbook -i $(LAB_INVENTORY) playbooks/lab/create.yml

lab-destroy: venv ## remove the lab containers and network and the lab's controller secrets, stop the apt cache
	ansible-playbook -i $(LAB_INVENTORY) playbooks/lab/destroy.yml
	scripts/lab-apt-cache.sh stop

# --- artifacts -------------------------------------------------------------------------------
.PHONY: artifacts
artifacts: venv ## stage the air-gapped artifacts (Kafka, plugins, OpenBao) with checksums
	$(BIN)/python scripts/stage_artifacts.py stage

# --- demo ------------------------------------------------------------------------------------
.PHONY: demo
demo: lab artifacts ## build the lab, converge site.yml, then the stand-in for ScyllaDB and the real source against it (LAB=compact, the default, or LAB=full)
	start=$$SECONDS; ansible-playbook -i $(LAB_INVENTORY) site.yml || exit $$?; \
	  echo "demo: site.yml on the $(LAB) lab took $$((SECONDS - start)) s"
	start=$$SECONDS; ansible-playbook -i $(LAB_INVENTORY) playbooks/lab/scylla_standin.yml || exit $$?; \
	  echo "demo: the stand-in for ScyllaDB (not ScyllaDB) and the source connector took $$((SECONDS - start)) s"
	ansible-playbook -i $(LAB_INVENTORY) playbooks/lab/source_demo.yml
	ansible-playbook -i $(LAB_INVENTORY) playbooks/lab/summary.yml

# --- checks ----------------------------------------------------------------------------------
.PHONY: lint yamllint ansible-lint ruff docs-check changelog-lint sanity unit integration molecule test docs
yamllint: venv
	yamllint --strict .

ansible-lint: venv
	ansible-lint --profile production --offline

ruff: venv
	ruff check .
	ruff format --check .

docs: venv ## regenerate docs/variables from the argument specs
	$(BIN)/python scripts/gen_role_docs.py

docs-check: venv
	$(BIN)/python scripts/gen_role_docs.py --check

changelog-lint: venv
	antsibull-changelog lint

lint: yamllint ansible-lint ruff docs-check changelog-lint ## all static checks

sanity: venv ## ansible-test sanity on the built and installed collection
	scripts/ansible-test-sanity.sh

unit: venv ## pytest unit tests (promtool first: a test checks the rendered Prometheus configuration with it)
	scripts/get_promtool.sh
	scripts/run-pytest.sh unit tests/unit

.PHONY: alert-rules
alert-rules: venv ## Prometheus alert rules: promtool check and unit tests, every alert tested
	scripts/get_promtool.sh
	$(BIN)/python scripts/check_alert_rules.py

integration: venv artifacts ## pytest integration tests against real services
	CDC_NO_SKIP=1 scripts/run-pytest.sh integration tests/integration --durations=15

.PHONY: benchmark-reconcile
benchmark-reconcile: venv artifacts ## cdc_reconcile next to a plain full scan of both tables (throw-away Cassandra 5 and PostgreSQL; ROWS=200000)
	$(BIN)/python scripts/benchmark_reconcile.py --rows $${ROWS:-200000}

.PHONY: benchmark
benchmark: venv ## the sink benchmark, 3 runs per variant, table and plot in .cache/benchmarks (the demo lab; BENCH_ARGS="--scenario pipeline")
	$(BIN)/pip install --quiet -r requirements-benchmark.txt -c constraints.txt
	$(BIN)/python scripts/benchmark.py $(BENCH_ARGS)

.PHONY: ee
ee: venv lab-image ## the execution environment image (ee/execution-environment.yml) on the lab image, without Galaxy or a registry
	VENV=$(VENV) scripts/build-ee.sh

# A scenario's steps that run under Mitogen (scripts/molecule_test.sh says which may, and why).
MITOGEN_STEPS_pipeline := idempotence

# A scenario may have molecule/<scenario>/requires.sh: it exits 77 after printing "SKIPPED molecule
# <scenario>: <reason>" when the scenario cannot run here (recorded in the timing file, not run);
# any other failure of it stops make.
.PHONY: molecule-scenario
molecule-scenario: venv lab-image lab-apt-cache ## one Molecule scenario: make molecule-scenario SCENARIO=kafka
	@test -n "$(SCENARIO)" || { echo "molecule-scenario: set SCENARIO=<one of: $(SCENARIOS)>" >&2; exit 2; }
	if [ -x molecule/$(SCENARIO)/requires.sh ]; then \
	  rc=0; skipped=$$(molecule/$(SCENARIO)/requires.sh) || rc=$$?; \
	  if [ $$rc -eq 77 ]; then echo "$$skipped" | tee -a $(TIMES); exit 0; fi; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	fi; \
	scripts/molecule_test.sh $(SCENARIO) $(MITOGEN_STEPS_$(SCENARIO))

# The pipeline's fault cases CI does not run (molecule/pipeline/chaos.yml, docs/reliability.md): the
# scenario created and converged, the cases as its verify, destroyed. On a converged scenario:
# make chaos CHAOS_STEPS=verify (the scenario stays).
CHAOS_STEPS ?= destroy create converge verify destroy
.PHONY: chaos
chaos: venv lab-image lab-apt-cache artifacts ## the pipeline's chaos cases beyond CI's and the AWX job templates in check mode (about 50 min; CHAOS_STEPS=verify on a converged scenario)
	CDC_PIPELINE_VERIFY=chaos.yml MOLECULE_STEPS="$(CHAOS_STEPS)" scripts/molecule_test.sh pipeline

molecule: venv lab-image lab-apt-cache ## every Molecule scenario, one after the other: check, converge, idempotence, verify
	for scenario in $(SCENARIOS); do \
	  $(call timed,molecule $$scenario,$(MAKE) --no-print-directory molecule-scenario SCENARIO=$$scenario); done

# `make test`: the set-up (toolchain, staged artifacts, lab image, apt cache), then every stage through
# scripts/run_parallel.py, TEST_JOBS at a time, in the order given (one log per stage in .cache/logs,
# the tail of a failed one printed). molecule/pipeline is the critical path (it converges the whole
# stack), so it starts first and holds one slot for the whole run; every other stage (lint, sanity,
# unit, alert rules, integration, the quick scenarios) runs in the other slot, one after the other.
TEST_JOBS ?= 2
CHECK_STAGES := lint sanity unit alert-rules
LONGEST_FIRST := pipeline integration common
SLOW_STAGES := $(foreach stage,$(LONGEST_FIRST),$(filter $(stage),$(SCENARIOS) integration)) $(filter-out $(LONGEST_FIRST),$(SCENARIOS))
stage_command = $(if $(filter integration,$(1)),integration=$(MAKE) --no-print-directory integration,molecule $(1)=$(MAKE) --no-print-directory molecule-scenario SCENARIO=$(1))
# The pipeline first, then the static checks (quick, so a broken lint shows early), then the rest, and
# the execution environment's image last (a few minutes, mostly downloads).
TEST_STAGE_ARGS := $(foreach stage,$(filter pipeline,$(SLOW_STAGES)),'$(call stage_command,$(stage))') \
  $(foreach stage,$(CHECK_STAGES),'$(stage)=$(MAKE) --no-print-directory $(stage)') \
  $(foreach stage,$(filter-out pipeline,$(SLOW_STAGES)),'$(call stage_command,$(stage))') \
  'ee=$(MAKE) --no-print-directory ee'

# The apt cache stops whatever the outcome: a failed stage must not leave the daemon running.
test: ## every check: lint, sanity, unit, integration, Molecule (prints the time of each stage)
	mkdir -p .cache && : > $(TIMES)
	$(call timed,toolchain,$(MAKE) --no-print-directory venv)
	$(call timed,set-up: staged artifacts and lab image,$(MAKE) --no-print-directory artifacts lab-image lab-apt-cache)
	start=$$SECONDS; echo "==> every stage ($(TEST_JOBS) at a time)"; rc=0; \
	  $(BIN)/python scripts/run_parallel.py --jobs $(TEST_JOBS) --times $(TIMES) $(TEST_STAGE_ARGS) || rc=$$?; \
	  echo "every stage ($(TEST_JOBS) at a time): $$((SECONDS - start))s" | tee -a $(TIMES); \
	  scripts/lab-apt-cache.sh stop; echo "== time per stage =="; cat $(TIMES); exit $$rc

.PHONY: clean
clean: lab-destroy ## remove the lab, the sanity tree and build outputs (keeps caches and .venv)
	rm -rf .cache/sanity build *.tar.gz
