# The two commands of the README, and the steps they are made of.
#   make lab    bring up the local container lab and install onto it
#   make test   the whole test suite, fastest-failing first (what .ci/run runs)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
COLLECTION_LINK := .cache/collections/ansible_collections/prodgrade/kubernetes
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Scenarios live in molecule/ at the collection root, as in most collections today.
export MOLECULE_GLOB := molecule/*/molecule.yml
# Quickest scenarios first, so a failure shows early.
MOLECULE_SCENARIOS ?= pki etcd_one_host etcd_two_hosts node etcd_repair pki_recovery ca_rotation runtime registry_trust loadbalancer kubeadm airgap loadbalancer_vip etcd_membership cluster doctor

.PHONY: lab lab-down test lint sanity unit molecule setup images clean

lab: setup images
	lab/labctl up
	ansible-playbook -i inventories/lab/hosts.yml prodgrade.kubernetes.cluster

lab-down: setup
	lab/labctl down

test: lint unit molecule

setup: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Ansible finds collections only under ansible_collections/<namespace>/<name>.
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

images: setup
	lab/labctl images

lint: setup
	yamllint --strict .
	ruff check .
	ruff format --check .
	ansible-lint
	antsibull-changelog lint

unit: setup
	pytest

# Each scenario's output is also kept in .cache/molecule-logs; when one fails, its failed tasks
# are printed again last, where a CI log's tail shows them.
molecule: setup images
	lab/labctl sysctl-snapshot
	mkdir -p .cache/molecule-logs
	trap 'lab/labctl sysctl-restore' EXIT; \
	for scenario in $(MOLECULE_SCENARIOS); do \
	  molecule test -s $$scenario 2>&1 | tee .cache/molecule-logs/$$scenario.log || { \
	    echo "=== scenario $$scenario failed; its failed tasks:"; \
	    grep -a -E -A8 'fatal: \[|failed: \[' .cache/molecule-logs/$$scenario.log | cut -c1-400 | tail -n 60; \
	    exit 1; }; \
	done

clean:
	rm -rf .cache $(VENV)
