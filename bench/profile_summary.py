"""Tasks and summed time per role from ansible.posix.profile_tasks logs (bench/scale.sh).

    python bench/profile_summary.py FIRST.log [SECOND.log ...]

profile_tasks prints one line per task, "<role> : <task name> ---- 1.23s", timed as the
task's wall clock over all hosts; the play-level tasks (fact gathering) count as "(play)".
"""

import collections
import re
import sys

LINE = re.compile(r"^(?P<name>.*?) -{3,} (?P<seconds>[0-9.]+)s$")


def per_role(path):
    totals = collections.defaultdict(lambda: [0, 0.0])
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = LINE.match(line.rstrip())
            if not match:
                continue
            name = match.group("name")
            role = name.split(" : ")[0].rsplit(".", 1)[-1] if " : " in name else "(play)"
            totals[role][0] += 1
            totals[role][1] += float(match.group("seconds"))
    return totals


def main(paths):
    tables = [per_role(path) for path in paths]
    roles = sorted({role for table in tables for role in table})
    header = "| phase (role) | " + " | ".join(f"run {i + 1}: tasks, s" for i in range(len(paths)))
    print(header + " |")
    print("|---|" + "---|" * len(paths))
    for role in roles:
        cells = [f"{t[role][0]}, {t[role][1]:.1f}" if role in t else "-" for t in tables]
        print(f"| {role} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
