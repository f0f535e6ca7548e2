#!/usr/bin/env bash
# What the PKI guard costs a converged re-run: `preflight` + `pki` on the lab, with the guard
# (as shipped) and without it (a bench-only override that skips it), alternated N times.
#
#   bench/pki_guard.sh [RUNS] [INVENTORY] [PLAYBOOK...]
#
# Defaults: 5 runs, inventories/lab/hosts.yml, the playbooks `preflight pki`; for the whole
# converged re-run: bench/pki_guard.sh 3 inventories/lab/hosts.yml prodgrade.kubernetes.cluster
#
# Brings the lab up and converges it with `cluster` first if needed. Prints the median wall
# time of each and their ratio; quote the ratio, absolute seconds depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
inventory=${2:-inventories/lab/hosts.yml}
shift $(($# > 2 ? 2 : $#))
playbooks=("${@:-prodgrade.kubernetes.preflight}")
[ $# -gt 0 ] || playbooks+=(prodgrade.kubernetes.pki)
out=.cache/bench/pki-guard-$(date +%Y%m%dT%H%M%S)
mkdir -p "$out"
make --quiet setup images >/dev/null
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
lab/labctl up "$inventory" >/dev/null 2>&1
ansible-playbook -i "$inventory" prodgrade.kubernetes.cluster >"$out/converge.log"

# Skips both places the guard runs: the preflight role and the pki role's first task.
without=(-e preflight_pki_guard=false -e __pki_guarded=true -e '{"__pki_host_trust": {}}')
time_run() {  # label, extra args...
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  ansible-playbook -i "$inventory" "$@" "${playbooks[@]}" >>"$out/$label.log"
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 2))" >>"$out/$label.times"
}
for _ in $(seq "$runs"); do
  time_run with
  time_run without "${without[@]}"
done
grep -h -o 'changed=[0-9]*' "$out/with.log" "$out/without.log" | sort -u | tr '\n' ' '
echo
python3 - "$out" "${playbooks[*]}" <<'PY'
import pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
med = {k: statistics.median(float(x) for x in (out / f"{k}.times").read_text().split())
       for k in ("with", "without")}
print(f"{sys.argv[2]}, converged, median of {len((out / 'with.times').read_text().split())}:"
      f" with the guard {med['with']:.2f} s, without {med['without']:.2f} s,"
      f" ratio {med['with'] / med['without']:.2f}")
PY
echo "logs: $out"
