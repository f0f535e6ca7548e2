# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic behind the ``etcd_start`` and ``etcd_join`` filters: how each planned member starts.

The etcd role reads, on every host with members, the installed etcd release and, per member,
whether its data directory already holds data and which ``initial-cluster-state`` its
configuration file carries (``parse_inspection``). From that, and from the member list of a
running cluster when one answers, ``start_plan`` decides:

- a member with data starts from its data; etcd ignores every ``initial-cluster*`` setting
  then, so its configuration is the steady one (state ``existing``);
- a new cluster (no member has data, or only members of a bootstrap that never finished, and
  no cluster answers) bootstraps every member without data with state ``new``;
- an existing cluster gets each member without data added one at a time, as a learner that
  is promoted once it has caught up (``join_settings`` computes the ``initial-cluster`` value
  etcd demands: exactly the membership after the add).

Refusals are ``EtcdStateError`` with a message that says what is wrong and how to fix it.
Nothing in here touches a host or imports Ansible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

NEW = "new"
EXISTING = "existing"

_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


class EtcdStateError(ValueError):
    """What the hosts hold does not allow the planned cluster to start safely."""


def parse_inspection(lines):
    """Read the role's inspection output (roles/etcd/vars/main.yml, __etcd_inspect_script).

    Lines: ``release V``, ``missing TOOL`` (or ``missing user``),
    ``unit NAME FILE_STATE ACTIVE_STATE [RESTARTS]`` and ``member NAME yes|no STATE``.
    Returns ``{"release": str or None, "missing": [tools], "units": {name: (file state,
    active state[, restarts])}, "members": {name: {"data": bool, "state": str}}}``; a member's
    ``state`` is ``new``, ``existing`` or ``none`` (no configuration file yet).
    """
    release = None
    missing = []
    units = {}
    members = {}
    for line in lines or []:
        words = line.split()
        if len(words) == 2 and words[0] == "release":
            release = None if words[1] == "none" else words[1]
        elif len(words) == 2 and words[0] == "missing":
            missing.append(words[1])
        elif len(words) == 4 and words[0] == "unit":
            units[words[1]] = (words[2], words[3])
        elif len(words) == 5 and words[0] == "unit" and words[4].isdigit():
            units[words[1]] = (words[2], words[3], int(words[4]))
        elif len(words) == 4 and words[0] == "member":
            members[words[1]] = {"data": words[2] == "yes", "state": words[3]}
        elif words:
            raise EtcdStateError(f"unexpected line in the etcd inspection output: {line!r}")
    return {"release": release, "missing": missing, "units": units, "members": members}


def minor_release(release):
    """``3.5.16`` -> ``3.5``; None for anything that is not a release number."""
    match = _RELEASE_RE.match(release or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


def check_releases(releases):
    """Refuse members on different etcd minor releases (``releases``: {host: release})."""
    by_minor = {}
    for host, release in sorted(releases.items()):
        minor = minor_release(release)
        if minor is not None:
            by_minor.setdefault(minor, []).append(f"{host} ({release})")
    if len(by_minor) > 1:
        listing = "; ".join(
            f"{minor}: {', '.join(hosts)}" for minor, hosts in sorted(by_minor.items())
        )
        raise EtcdStateError(
            f"the etcd hosts run different etcd minor releases ({listing}). A cluster mixes "
            "minor releases only for the length of a rolling upgrade, one minor apart, and this "
            "role does not upgrade etcd. Install one release everywhere: the same distribution "
            "release on every etcd host, or the same etcd_package version."
        )


def membership_members(membership):
    """The ``members`` of an ``etcdctl member list -w json`` document (dict or JSON text)."""
    if membership is None:
        return None
    if isinstance(membership, Mapping):
        return list(membership.get("members") or [])
    raise EtcdStateError(f"unexpected etcd member list: {membership!r}")


def _member_by_peer_url(members, peer_url):
    for member in members:
        if peer_url in (member.get("peerURLs") or []):
            return member
    return None


def start_plan(plan, inspections, membership=None):
    """Decide how every planned member starts.

    ``plan`` is the etcd plan (``etcd_plan`` filter). ``inspections`` maps each inventory
    host of the play that has members to its ``parse_inspection`` result; hosts missing from
    it were not inspected (left out of the play, for example by ``--limit``). ``membership``
    is the member list of the running cluster, or None when no cluster answered (or nobody
    asked yet).

    Returns a dictionary with ``mode`` (``bootstrap``: a new cluster forms; ``existing``: a
    cluster exists, members without data join it), ``states`` (member name -> the
    ``initial-cluster-state`` its configuration gets now; members that join are left out,
    they are configured when they are added), ``with_data``, ``bootstrap`` (members started
    as part of a new cluster), ``join`` (members to add, in plan order), ``promote`` (members
    that are learners in the membership), ``not_inspected``, ``releases``,
    ``needs_membership`` (some member has no data, so whether a cluster runs matters) and
    ``query_host`` (the first inspected host, to ask the cluster from).
    """
    members = plan["members"]
    inspected = {host: inspections[host] for host in plan["hosts"] if host in inspections}
    releases = {host: found["release"] for host, found in inspected.items() if found["release"]}
    check_releases(releases)

    with_data, without_data, not_inspected, unfinished = [], [], [], []
    for member in members:
        found = inspected.get(member["host"])
        if found is None:
            not_inspected.append(member["name"])
            continue
        state = found["members"].get(member["name"], {"data": False, "state": "none"})
        if state["data"]:
            with_data.append(member["name"])
            if state["state"] == NEW:
                unfinished.append(member["name"])
        else:
            without_data.append(member["name"])

    listed = membership_members(membership)
    # A cluster exists when it answers, or when a member holds data from a finished bootstrap
    # or join (its configuration was set to "existing" once the cluster was healthy).
    finished = [name for name in with_data if name not in unfinished]
    mode = "existing" if listed is not None or finished else "bootstrap"

    if mode == "bootstrap" and not_inspected:
        raise EtcdStateError(
            f"a new etcd cluster forms only with all its members, but the hosts of "
            f"{', '.join(not_inspected)} are not in this run (left out by --limit, or "
            "unreachable). Run the etcd phase on every etcd host for the first start."
        )

    promote = []
    if listed is not None:
        names = {member["name"] for member in members}
        promote = [m["name"] for m in listed if m.get("isLearner") and m.get("name") in names]

    states = {}
    for name in with_data:
        states[name] = NEW if mode == "bootstrap" else EXISTING
    join = []
    bootstrap = []
    for name in without_data:
        if mode == "bootstrap":
            states[name] = NEW
            bootstrap.append(name)
        else:
            join.append(name)
    bootstrap.extend(name for name in unfinished if mode == "bootstrap")

    first_inspected = next((m["host"] for m in members if m["host"] in inspected), None)
    return {
        "mode": mode,
        "states": states,
        "with_data": with_data,
        "bootstrap": [m["name"] for m in members if m["name"] in bootstrap],
        "join": join,
        "promote": promote,
        "not_inspected": not_inspected,
        "releases": releases,
        "needs_membership": bool(without_data),
        "query_host": first_inspected,
    }


def join_settings(member, membership, plan):
    """How ``member`` (a plan entry) joins the cluster whose member list is ``membership``.

    Returns ``present`` (the cluster lists its peer URL already), ``member_id`` (hexadecimal,
    as etcdctl takes it; None when absent), ``is_learner`` and ``initial_cluster``: the
    membership once it is added, as etcd requires of a joining member. A member listed
    without a name has not started yet; it is named from the plan by its peer URL, and one
    the plan does not know is refused.
    """
    listed = membership_members(membership)
    if listed is None:
        raise EtcdStateError(f"no member list to add {member['name']} to")
    planned_by_url = {m["peer_url"]: m["name"] for m in plan["members"]}
    entries = []
    own = _member_by_peer_url(listed, member["peer_url"])
    for entry in listed:
        urls = entry.get("peerURLs") or []
        name = entry.get("name") or ""
        if not name:
            name = next((planned_by_url[url] for url in urls if url in planned_by_url), "")
        if not name:
            raise EtcdStateError(
                f"the etcd cluster lists a member that never started and is not in the plan "
                f"(ID {int(entry.get('ID', 0)):x}, peer URLs {', '.join(urls) or 'none'}). "
                "Remove it with 'etcdctl member remove <ID>' and run the etcd phase again."
            )
        entries.extend(f"{name}={url}" for url in urls)
    if own is None:
        entries.append(f"{member['name']}={member['peer_url']}")
    return {
        "present": own is not None,
        "member_id": f"{int(own['ID']):x}" if own is not None else None,
        "is_learner": bool(own.get("isLearner")) if own is not None else False,
        "initial_cluster": ",".join(entries),
    }
