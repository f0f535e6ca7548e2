"""The package_sources role's removal of an earlier offline run's files (tasks/online.yml).

The task runs the script from the role's vars with ``sh``; here it runs on paths in tmp_path
the same way: the first argument is Ansible's check mode ("True" or "False").
"""

import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = yaml.safe_load((REPO / "roles/package_sources/vars/main.yml").read_text())[
    "__package_sources_remove_script"
]


def remove(check_mode, *paths):
    res = subprocess.run(
        ["sh", "-c", SCRIPT, "remove", str(check_mode), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout.splitlines()


def offline_leftovers(tmp_path):
    conf = tmp_path / "99prodgrade-offline"
    conf.write_text("Dir::Etc::SourceList x;\n")
    sources = tmp_path / "prodgrade"
    (sources / "sources.list.d").mkdir(parents=True)
    (sources / "sources.list.d" / "prodgrade-bundle.sources").write_text("Types: deb\n")
    keyring = tmp_path / "prodgrade-bundle.gpg"
    keyring.symlink_to(tmp_path / "gone")  # a dangling link counts too
    return conf, sources, keyring


def test_removes_every_leftover_and_names_it(tmp_path):
    paths = offline_leftovers(tmp_path)
    assert remove(False, *paths) == [f"removed {p}" for p in paths]
    assert not any(p.exists() or p.is_symlink() for p in paths)


def test_check_mode_names_them_and_removes_nothing(tmp_path):
    paths = offline_leftovers(tmp_path)
    assert remove(True, *paths) == [f"removed {p}" for p in paths]
    assert all(p.exists() or p.is_symlink() for p in paths)


def test_nothing_there_prints_nothing_so_the_task_is_unchanged(tmp_path):
    assert remove(False, tmp_path / "a", tmp_path / "b") == []
