#!/usr/bin/env bash
# Wall-clock of `prodgrade.kubernetes.cluster` on the lab: from bare containers, then the
# idempotent second run, with per-task timings (ansible.posix.profile_tasks).
#
#   bench/cluster_runs.sh [INVENTORY]     (default: inventories/lab/hosts.yml)
#
# Prints the machine, the versions and three figures: lab start, first run, second run,
# and the ratio second/first. Quote ratios; absolute seconds depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
inventory=${1:-inventories/lab/hosts.yml}
out=.cache/bench/$(date +%Y%m%dT%H%M%S)
mkdir -p "$out"
make --quiet setup images >/dev/null
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_SORT_ORDER=none PROFILE_TASKS_TASK_OUTPUT_LIMIT=all

now() { date +%s.%N; }
seconds() { python3 -c "print(round($2 - $1, 1))"; }

{
  echo "machine: $(nproc) cpu, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
  echo "ansible-core: $(ansible --version | head -1)"
  echo "docker: $(docker version --format '{{.Server.Version}}')"
  echo "hosts: $(ansible-inventory -i "$inventory" --list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["_meta"]["hostvars"]))')"
} | tee "$out/summary.txt"

lab/labctl down "$inventory" 2>/dev/null
t0=$(now); lab/labctl up "$inventory" 2>/dev/null; t1=$(now)
ansible-playbook -i "$inventory" prodgrade.kubernetes.cluster >"$out/first.log"; t2=$(now)
ansible-playbook -i "$inventory" prodgrade.kubernetes.cluster >"$out/second.log"; t3=$(now)

first=$(seconds "$t1" "$t2")
second=$(seconds "$t2" "$t3")
{
  echo "lab start: $(seconds "$t0" "$t1") s"
  echo "first run: $first s"
  echo "second run: $second s ($(grep -o 'changed=[0-9]*' "$out/second.log" | sort -u | tr '\n' ' '))"
  echo "ratio second/first: $(python3 -c "print(round($second / $first, 2))")"
} | tee -a "$out/summary.txt"
echo "logs with per-task timings: $out"
