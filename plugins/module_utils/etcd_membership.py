# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The running etcd cluster's membership against the plan: what to repair, what to change, in
which order, and when to refuse. Pure logic behind the ``etcd_reconcile`` filter.

Inputs are what the etcd role read before changing anything: the plan (``etcd_plan``), each
host's inspection (``etcd_state.parse_inspection``: per member whether its data directory
holds data, per unit its state and restart count), the cluster's member list
(``etcdctl member list -w json``) and the health of each member's client URL
(``etcdctl endpoint health --cluster -w json``).

Members are matched by peer URL, etcd's own identity for where a member lives. Then:

- **Repairs** need no confirmation, since they restore the plan: a listed member whose data
  directory is empty (a replaced disk), or which holds data but crash-loops or failed while the
  others keep quorum (a partial directory left by a start on an empty one), is *replaced*: its
  data is moved aside, the member removed, added back as a learner, started, and promoted once
  it caught up. A half-finished join (a listed learner, or a member added but never started)
  is *finished*.
- **Plan changes** (members to add, to remove, or listed under another name at the same peer
  URL, which a restart under the new name renames) are a *membership diff*, refused unless
  confirmed, and then carried out one step at a time with every other voter healthy: renames
  first (the voter count does not change), then each add followed by a remove, so the cluster
  never has fewer voters than it needs and ends on the planned, odd count.
- Nothing is done when the listed voters that answer are not a quorum: that cluster is
  restored from a snapshot (``etcd_restore``), never reconfigured.

Every step carries the voter count and quorum after it, for the printed diff.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import (
    SPREAD,
    quorum,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_state import (
    EtcdStateError,
    membership_members,
)

_RESTORE = (
    "Restore the cluster from a snapshot: ansible-playbook -i INVENTORY "
    "prodgrade.kubernetes.etcd_restore -e etcd_restore_snapshot=<snapshot on the controller> "
    "-e etcd_restore_confirm=true, with a snapshot fetched by prodgrade.kubernetes.etcd_backup "
    "or copied from etcd_backup_dir (/var/backups/etcd) of a member (docs/etcd.md, 'Restore')."
)

# systemd states of a unit that is not serving: it failed, or it is restarting after a crash.
_DOWN_STATES = ("failed", "activating")


def member_id(entry):
    """etcdctl prints IDs as decimal in JSON and takes them in hexadecimal."""
    return f"{int(entry['ID']):x}"


def health_by_url(health):
    """``{client URL: healthy}`` from ``etcdctl endpoint health --cluster -w json``."""
    result = {}
    for entry in health or []:
        if isinstance(entry, dict) and entry.get("endpoint"):
            result[entry["endpoint"]] = bool(entry.get("health"))
    return result


def _listed_by_peer(listed, peer_url):
    return next((entry for entry in listed if peer_url in (entry.get("peerURLs") or [])), None)


def _describe(entry):
    name = entry.get("name") or "(never started)"
    return f"{name} (ID {member_id(entry)}, {', '.join(entry.get('peerURLs') or [])})"


def _host_of(entry, plan, hosts_by_node):
    """The inventory host a listed member runs on: the planned host with its peer URL's
    address, else the host whose node name its name carries (etcd-<node>[-<index>])."""
    for peer_url in entry.get("peerURLs") or []:
        address = urlsplit(peer_url).hostname
        planned = next((m for m in plan["members"] if m["ip"] == address), None)
        if planned:
            return planned["host"]
    name = entry.get("name") or ""
    for node, host in sorted(hosts_by_node.items(), key=lambda item: -len(item[0])):
        if name == f"etcd-{node}" or name.startswith(f"etcd-{node}-"):
            return host
    return None


def _inspected(member, inspections):
    """What the member's host holds for it: ``(member state or None, unit state or None)``,
    from its host's ``parse_inspection`` result (None for a host not inspected)."""
    found = inspections.get(member["host"]) or {}
    return (
        found.get("members", {}).get(member["name"]),
        found.get("units", {}).get(f"etcd@{member['name']}.service"),
    )


def _configured_before(member, inspections):
    """Whether the member's host holds a configuration for it: it was a member before."""
    state, _ = _inspected(member, inspections)
    return bool(state) and state.get("state") not in (None, "none")


def reconcile(plan, inspections, membership=None, health=None, confirm=False, hosts_by_node=None):
    """Decide repairs and membership changes; see the module docstring.

    Returns ``{"steps", "diff", "repairs", "refusal", "summary", "replaced", "renamed",
    "voters", "quorum"}``: ``steps`` in order, each ``{"kind", "member", "host", "id",
    "peer_url", "old_name", "reason", "voters", "quorum"}`` (``kind`` is ``finish``,
    ``replace``, ``rename``, ``add`` or ``remove``; voters and quorum after the step);
    ``refusal`` a message when nothing may be done (then ``steps`` is what would be done);
    ``replaced`` and ``renamed`` the planned member names whose units the steps take over,
    which the regular configure and start tasks must leave alone.
    """
    listed = membership_members(membership)
    hosts_by_node = hosts_by_node or {}
    result = {
        "steps": [],
        "diff": [],
        "repairs": [],
        "refusal": None,
        "summary": "",
        "replaced": [],
        "renamed": [],
        "voters": None,
        "quorum": None,
        "endpoints": [],
    }
    if listed is None:
        # Nobody answered: a new cluster, or one that is down. Members with data start from it
        # (etcd_state.start_plan) and the cluster is asked again; unless too few hold data
        # for a quorum ever to form again, which only a restore mends.
        states = {m["name"]: _inspected(m, inspections)[0] or {} for m in plan["members"]}
        holding = [
            name
            for name, state in states.items()
            if state.get("data") and state.get("state") == "existing"
        ]
        needed = quorum(len(plan["members"]))
        if holding and len(holding) < needed:
            result["refusal"] = (
                f"the etcd cluster has lost quorum: no member answers, and only {len(holding)} of "
                f"the {len(plan['members'])} planned members hold data ({', '.join(holding)}), "
                f"fewer than the {needed} a quorum needs; a member without data can only join a "
                "cluster that has one. Nothing was changed. " + _RESTORE
            )
        return result
    healthy = health_by_url(health)

    def answers(entry):
        return any(healthy.get(url) for url in entry.get("clientURLs") or [])

    voters = [entry for entry in listed if not entry.get("isLearner")]
    answering = [entry for entry in voters if answers(entry)]
    # Where the steps send etcdctl: the voters that answer now.
    result["endpoints"] = [url for entry in answering for url in entry.get("clientURLs") or []]
    result["voters"], result["quorum"] = len(voters), quorum(len(voters)) if voters else 0
    planned_urls = {m["peer_url"] for m in plan["members"]}

    steps = []
    finishes, replaces, renames, adds = [], [], [], []
    for member in plan["members"]:
        entry = _listed_by_peer(listed, member["peer_url"])
        if entry is None:
            adds.append(member)
            continue
        name = entry.get("name") or ""
        if not name or entry.get("isLearner"):
            # Added by a run that did not finish: start it if needed, promote it.
            finishes.append((member, entry))
            continue
        if name != member["name"]:
            renames.append((member, entry))
            continue
        if member["host"] not in inspections:
            continue
        state, unit_state = _inspected(member, inspections)
        state = state or {"data": False}
        active = unit_state[1] if unit_state else "inactive"
        restarts = unit_state[2] if unit_state and len(unit_state) > 2 else 0
        if not state["data"]:
            replaces.append((member, entry, "its data directory is empty (a new disk?)"))
        elif not answers(entry) and active in _DOWN_STATES:
            replaces.append(
                (
                    member,
                    entry,
                    f"it holds data but does not run (unit {active}, {restarts} restarts): "
                    "a partial data directory, as a start on an empty one leaves",
                )
            )
    removes = [entry for entry in listed if not set(entry.get("peerURLs") or []) & planned_urls]

    # Quorum first: a cluster without one is restored, never reconfigured.
    if len(answering) < quorum(len(voters)):
        result["refusal"] = (
            f"the etcd cluster has lost quorum: {len(answering)} of its {len(voters)} voting "
            f"members answer ({', '.join(_describe(e) for e in answering) or 'none'}), and "
            f"{quorum(len(voters))} are needed. Nothing was changed. A member cannot be added, "
            "removed or repaired without a quorum. " + _RESTORE
        )

    count = len(voters)

    def step(kind, member_name, host, entry=None, peer_url=None, old_name=None, reason=""):
        nonlocal count
        if kind in ("add", "rejoin") or (kind == "finish" and entry.get("isLearner")):
            count += 1
        elif kind == "remove":
            count -= 1
        steps.append(
            {
                "kind": kind,
                "member": member_name,
                "host": host,
                "id": member_id(entry) if entry is not None else None,
                "peer_url": peer_url or (entry.get("peerURLs") or [None])[0],
                # Where the member answers now; the step's etcdctl goes to the others.
                "client_urls": list((entry or {}).get("clientURLs") or []),
                "old_name": old_name,
                "reason": reason,
                "voters": count,
                "quorum": quorum(count) if count else 0,
            }
        )

    # Repairs, which restore the plan the cluster was built with. A learner left by a join
    # that did not finish goes first: etcd admits one learner at a time.
    for member, entry in finishes:
        if entry.get("isLearner") and not entry.get("name"):
            reason = "added as a learner by a run that did not finish: start and promote it"
        elif entry.get("isLearner"):
            reason = "a learner left by a run that did not finish: promote it"
        else:
            reason = "added by a run that did not finish, never started: start it"
        step("finish", member["name"], member["host"], entry, reason=reason)
    for member, entry, reason in replaces:
        step("replace", member["name"], member["host"], entry, reason=reason)
    rejoins = [m for m in adds if _configured_before(m, inspections)]
    for member in rejoins:
        step(
            "rejoin",
            member["name"],
            member["host"],
            peer_url=member["peer_url"],
            reason=f"configured on {member['host']} before but no longer in the cluster "
            "(removed by hand?): added back, any old data moved aside",
        )
    repairs = list(steps)

    # Plan changes: renames keep the voter count; each add is followed by a remove.
    for member, entry in renames:
        step(
            "rename",
            member["name"],
            member["host"],
            entry,
            old_name=entry["name"],
            reason=f"listed as {entry['name']} at {member['peer_url']}, planned as "
            f"{member['name']}",
        )
    removes_left = list(removes)

    def remove(entry):
        removes_left.remove(entry)
        step(
            "remove",
            entry.get("name") or "",
            _host_of(entry, plan, hosts_by_node),
            entry,
            reason="in the cluster, not in the plan",
        )

    for member in [m for m in adds if m not in rejoins]:
        # One member per host when spread: an old member on the new one's host leaves first.
        if plan.get("topology") == SPREAD:
            for entry in list(removes_left):
                if _host_of(entry, plan, hosts_by_node) == member["host"]:
                    remove(entry)
        step(
            "add",
            member["name"],
            member["host"],
            peer_url=member["peer_url"],
            reason=f"planned on {member['host']}, not in the cluster",
        )
        if removes_left:
            remove(removes_left[0])
    for entry in list(removes_left):
        remove(entry)
    changes = steps[len(repairs) :]
    _check_placement(plan, listed, changes, hosts_by_node)

    result["steps"] = steps
    result["repairs"] = repairs
    result["diff"] = changes
    # The planned members whose start the steps take over (configure/start leave them alone).
    takes_over = ("replace", "finish", "rejoin")
    result["replaced"] = [s["member"] for s in steps if s["kind"] in takes_over]
    result["renamed"] = [s["member"] for s in steps if s["kind"] == "rename"]
    result["summary"] = diff_text(result, len(voters))
    if result["refusal"]:
        return result
    unhealthy = [
        entry for entry in voters if not answers(entry) and entry not in [e for _, e, _ in replaces]
    ]
    if changes and unhealthy:
        result["refusal"] = (
            "the etcd membership differs from the plan, but "
            f"{', '.join(map(_describe, unhealthy))} does not answer: a membership change needs "
            "every other voting member healthy to keep quorum at each step. Bring it back (a "
            "plain run of the etcd phase restarts or repairs members on hosts in the inventory), "
            "then run again. Nothing was changed.\n" + result["summary"]
        )
    elif changes and not confirm:
        result["refusal"] = (
            "the etcd membership differs from the plan. Nothing was changed. Check the steps "
            "below (docs/etcd.md, 'Changing the members'), then run again with "
            "-e etcd_reconfigure_confirm=true to carry them out, one at a time, each keeping "
            "quorum.\n" + result["summary"]
        )
    return result


def _check_placement(plan, listed, changes, hosts_by_node):
    """In a spread topology, no step may leave two voters on one host (the order above
    ensures it; this guards the order)."""
    if plan.get("topology") != SPREAD:
        return
    hosts = {
        member_id(entry): _host_of(entry, plan, hosts_by_node)
        for entry in listed
        if not entry.get("isLearner")
    }
    for change in changes:
        if change["kind"] == "add":
            hosts[change["member"]] = change["host"]
        elif change["kind"] == "remove":
            hosts.pop(change["id"], None)
        taken = [host for host in hosts.values() if host]
        doubled = sorted({host for host in taken if taken.count(host) > 1})
        if doubled:
            raise EtcdStateError(
                f"the membership change would put two voting members on {', '.join(doubled)} "
                "in a topology that spreads one member per host; change the inventory in two "
                "runs (first remove, then add), each confirmed."
            )


def diff_text(result, voters):
    """The steps as lines a human reads before confirming."""
    lines = [
        f"etcd membership now: {voters} voting members, quorum {quorum(voters) if voters else 0}."
    ]
    if not result["steps"]:
        lines.append("No change: the members are the planned ones.")
        return "\n".join(lines)
    signs = {"finish": "~", "replace": "~", "rejoin": "~", "rename": "~", "add": "+", "remove": "-"}
    for number, item in enumerate(result["steps"], 1):
        where = f" on {item['host']}" if item["host"] else ""
        name = item["member"] or "(never started)"
        if item["kind"] == "rename":
            name = f"{item['old_name']} -> {item['member']}"
        lines.append(
            f"{number}. {signs[item['kind']]} {item['kind']:<7} {name}{where} "
            f"({item['peer_url']}): {item['reason']}; then {item['voters']} voters, "
            f"quorum {item['quorum']}"
        )
    return "\n".join(lines)


def adjust_start(start, result):
    """The start decision (``etcd_state.start_plan``) with the members the steps take over
    left out of ``states`` (so the regular configure and start tasks leave them alone) and
    every member a step starts in ``join`` (so its configuration gets the steady form once the
    cluster is healthy)."""
    taken = set(result["replaced"]) | set(result["renamed"])
    adjusted = dict(start)
    adjusted["states"] = {
        name: state for name, state in start["states"].items() if name not in taken
    }
    if result["voters"] is not None:
        # The cluster answered: the steps are every start into it.
        adjusted["join"] = [s["member"] for s in result["steps"] if s["kind"] != "remove"]
    return adjusted
