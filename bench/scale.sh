#!/usr/bin/env bash
# How the cluster playbook's cost grows with the node count: bench/cluster_runs.sh on lab
# inventories of 1, 3, 5 and 10 nodes (bench/inventories), one after the other, then per
# phase the number of tasks and their summed time, first and second run
# (bench/profile_summary.py). Quote ratios against the 1-node run.
#
#   bench/scale.sh [COUNTS...]     (default: 1 3 5 10)
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-1 3 5 10}")
# shellcheck disable=SC2206
counts=(${counts[@]})
for n in "${counts[@]}"; do
  inventory=bench/inventories/nodes-$n.yml
  echo "== $n node(s)"
  bench/cluster_runs.sh "$inventory" | tail -5
  latest=$(ls -d .cache/bench/2* | tail -1)
  .venv/bin/python bench/profile_summary.py "$latest/first.log" "$latest/second.log"
  lab/labctl down "$inventory" >/dev/null 2>&1
done
