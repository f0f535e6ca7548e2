# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``links`` option of prodgrade.kubernetes.file_bundle, run for real in tmp_path."""

from __future__ import annotations

import base64
import os

import pytest
from module_runner import run_module, warning_texts

from ansible_collections.prodgrade.kubernetes.plugins.modules import file_bundle


def run(args, check_mode=False, diff=False):
    return run_module(file_bundle.main, args, check_mode=check_mode, diff=diff)


@pytest.fixture
def plugins(tmp_path):
    """A package directory with two plugins, and the runtime's plugin directory (missing)."""
    package = tmp_path / "usr" / "lib" / "cni"
    package.mkdir(parents=True)
    for name in ("bridge", "portmap"):
        (package / name).write_bytes(b"#!/bin/sh\necho " + name.encode() + b"\n")
    return package, tmp_path / "opt" / "cni" / "bin"


def links_for(package, bin_dir, *names, **extra):
    return [{"path": str(bin_dir / n), "src": str(package / n), **extra} for n in names]


def test_links_are_created_then_a_second_run_changes_nothing(plugins, tmp_path):
    package, bin_dir = plugins
    args = {"links": links_for(package, bin_dir, "bridge", "portmap")}
    first = run(args)
    assert first["changed"] is True
    assert first["links"] == [
        {
            "path": str(bin_dir / "bridge"),
            "src": str(package / "bridge"),
            "changed": True,
            "reasons": ["created"],
            "refused": False,
        },
        {
            "path": str(bin_dir / "portmap"),
            "src": str(package / "portmap"),
            "changed": True,
            "reasons": ["created"],
            "refused": False,
        },
    ]
    assert first["files"] == [] and first["directories"] == []
    assert first["created_dirs"] == [
        str(tmp_path / "opt"),
        str(tmp_path / "opt" / "cni"),
        str(bin_dir),
    ]
    for name in ("bridge", "portmap"):
        assert (bin_dir / name).is_symlink()
        assert os.readlink(bin_dir / name) == str(package / name)
    assert sorted(os.listdir(bin_dir)) == ["bridge", "portmap"]  # no temporary link left

    again = run(args)
    assert again["changed"] is False
    assert again["created_dirs"] == []
    assert [(e["changed"], e["reasons"], e["refused"]) for e in again["links"]] == [
        (False, [], False),
        (False, [], False),
    ]
    assert "warnings" not in again


def test_a_link_to_elsewhere_is_repaired(plugins):
    package, bin_dir = plugins
    bin_dir.mkdir(parents=True)
    (bin_dir / "bridge").symlink_to("/old/cni/bridge")
    (bin_dir / "portmap").symlink_to(package / "portmap")
    untouched_inode = os.lstat(bin_dir / "portmap").st_ino

    result = run({"links": links_for(package, bin_dir, "bridge", "portmap")})
    assert result["changed"] is True
    assert result["links"][0]["reasons"] == [f"target /old/cni/bridge->{package / 'bridge'}"]
    assert result["links"][1]["changed"] is False
    assert os.readlink(bin_dir / "bridge") == str(package / "bridge")
    assert os.lstat(bin_dir / "portmap").st_ino == untouched_inode
    assert sorted(os.listdir(bin_dir)) == ["bridge", "portmap"]


def test_a_dangling_link_is_repaired_and_a_relative_src_kept_as_given(plugins):
    package, bin_dir = plugins
    bin_dir.mkdir(parents=True)
    (bin_dir / "bridge").symlink_to(bin_dir / "gone")
    relative = os.path.relpath(package / "bridge", bin_dir)
    result = run({"links": [{"path": str(bin_dir / "bridge"), "src": relative}]})
    assert result["links"][0]["reasons"] == [f"target {bin_dir / 'gone'}->{relative}"]
    assert os.readlink(bin_dir / "bridge") == relative
    assert (bin_dir / "bridge").read_bytes().startswith(b"#!/bin/sh")
    assert run({"links": [{"path": str(bin_dir / "bridge"), "src": relative}]})["changed"] is False


def test_a_regular_file_is_left_alone_with_a_warning(plugins):
    package, bin_dir = plugins
    bin_dir.mkdir(parents=True)
    (bin_dir / "bridge").write_bytes(b"my own bridge build\n")
    result = run({"links": links_for(package, bin_dir, "bridge", "portmap")})
    # The task goes on: the other link is made, the file is kept.
    assert result.get("failed") is not True
    assert result["changed"] is True
    assert result["links"][0] == {
        "path": str(bin_dir / "bridge"),
        "src": str(package / "bridge"),
        "changed": False,
        "reasons": [],
        "refused": True,
    }
    assert result["links"][1]["reasons"] == ["created"]
    assert (bin_dir / "bridge").read_bytes() == b"my own bridge build\n"
    assert not (bin_dir / "bridge").is_symlink()
    warnings = warning_texts(result)
    assert len(warnings) == 1
    assert (
        f"{bin_dir / 'bridge'} is a regular file, not a symbolic link: left as it is"
        in (warnings[0])
    )

    # Only the refused link is left, so the next run changes nothing and warns again.
    again = run({"links": links_for(package, bin_dir, "bridge", "portmap")})
    assert again["changed"] is False
    assert again["links"][0]["refused"] is True
    assert len(warning_texts(again)) == 1


def test_force_replaces_a_regular_file(plugins):
    package, bin_dir = plugins
    bin_dir.mkdir(parents=True)
    (bin_dir / "bridge").write_bytes(b"stale\n")
    args = {"links": links_for(package, bin_dir, "bridge", force=True)}
    result = run(args, diff=True)
    assert result["links"][0]["reasons"] == ["replaced regular file"]
    assert result["links"][0]["refused"] is False
    assert result["diff"] == [
        {
            "before_header": str(bin_dir / "bridge"),
            "after_header": str(bin_dir / "bridge"),
            "before": "state: regular file\n",
            "after": f"state: link\nsrc: {package / 'bridge'}\n",
        }
    ]
    assert os.readlink(bin_dir / "bridge") == str(package / "bridge")
    assert run(args)["changed"] is False


def test_a_directory_is_never_replaced_even_with_force(plugins):
    package, bin_dir = plugins
    (bin_dir / "bridge").mkdir(parents=True)
    (bin_dir / "bridge" / "inside").write_bytes(b"keep")
    result = run({"links": links_for(package, bin_dir, "bridge", force=True)})
    assert result.get("failed") is not True
    assert result["changed"] is False
    assert result["links"][0]["refused"] is True
    assert "is a directory, not a symbolic link" in warning_texts(result)[0]
    assert (bin_dir / "bridge" / "inside").read_bytes() == b"keep"


def test_check_mode_changes_nothing(plugins, tmp_path):
    package, bin_dir = plugins
    args = {"links": links_for(package, bin_dir, "bridge")}
    result = run(args, check_mode=True)
    assert result["changed"] is True
    assert result["links"][0]["reasons"] == ["created"]
    assert result["created_dirs"] == [
        str(tmp_path / "opt"),
        str(tmp_path / "opt" / "cni"),
        str(bin_dir),
    ]
    assert not (tmp_path / "opt").exists()

    bin_dir.mkdir(parents=True)
    (bin_dir / "bridge").symlink_to("/old/bridge")
    result = run(args, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["links"][0]["reasons"] == [f"target /old/bridge->{package / 'bridge'}"]
    assert os.readlink(bin_dir / "bridge") == "/old/bridge"
    assert os.listdir(bin_dir) == ["bridge"]


def test_diff_shows_absent_old_target_and_nothing_when_unchanged(plugins):
    package, bin_dir = plugins
    bin_dir.mkdir(parents=True)
    (bin_dir / "portmap").symlink_to("/old/portmap")
    args = {"links": links_for(package, bin_dir, "bridge", "portmap")}
    result = run(args, diff=True)
    assert result["diff"] == [
        {
            "before_header": str(bin_dir / "bridge"),
            "after_header": str(bin_dir / "bridge"),
            "before": "state: absent\n",
            "after": f"state: link\nsrc: {package / 'bridge'}\n",
        },
        {
            "before_header": str(bin_dir / "portmap"),
            "after_header": str(bin_dir / "portmap"),
            "before": "state: link\nsrc: /old/portmap\n",
            "after": f"state: link\nsrc: {package / 'portmap'}\n",
        },
    ]
    assert run(args, diff=True)["diff"] == []
    assert "diff" not in run(args)


def test_links_come_after_directories_and_files_of_the_same_task(tmp_path):
    conf = tmp_path / "etc" / "tool"
    target = conf / "tool.conf"
    link = tmp_path / "etc" / "tool.conf"
    args = {
        "directories": [
            {"path": str(conf), "owner": str(os.geteuid()), "group": str(os.getegid())}
        ],
        "files": [
            {
                "dest": str(target),
                "content": base64.b64encode(b"x = 1\n").decode(),
                "owner": str(os.geteuid()),
                "group": str(os.getegid()),
            }
        ],
        "links": [{"path": str(link), "src": "tool/tool.conf"}],
    }
    result = run(args, diff=True)
    assert result["changed"] is True
    assert [d["before_header"] for d in result["diff"]] == [str(conf), str(target), str(link)]
    assert link.read_bytes() == b"x = 1\n"
    assert run(args)["changed"] is False


@pytest.mark.parametrize(
    ("links", "words"),
    [
        ([{"path": "opt/cni/bin/bridge", "src": "/usr/lib/cni/bridge"}], "is not an absolute path"),
        ([{"path": "/x/bridge/", "src": "/usr/lib/cni/bridge"}], "ends with a slash"),
        ([{"path": "/x/bridge", "src": ""}], "needs a src"),
        (
            [{"path": "/x/bridge", "src": "/a"}, {"path": "/x//bridge", "src": "/a"}],
            "is listed more than once",
        ),
    ],
)
def test_malformed_links_are_refused_before_anything_is_done(tmp_path, links, words):
    for item in links:
        if os.path.isabs(item["path"]):
            item["path"] = str(tmp_path) + item["path"]
    first = {"path": str(tmp_path / "made" / "first"), "src": "/a"}
    result = run({"links": [first, *links]})
    assert result["failed"] is True
    assert words in result["msg"]
    assert not (tmp_path / "made").exists()


def test_a_link_may_not_share_a_path_with_a_file_or_directory(tmp_path):
    path = tmp_path / "x"
    me = {"owner": str(os.geteuid()), "group": str(os.getegid())}
    result = run(
        {"directories": [{"path": str(path), **me}], "links": [{"path": str(path), "src": "/a"}]}
    )
    assert f"{path} is listed both in directories and in links" in result["msg"]
    content = base64.b64encode(b"").decode()
    result = run(
        {
            "files": [{"dest": str(path), "content": content, **me}],
            "links": [{"path": str(path), "src": "/a"}],
        }
    )
    assert f"{path} is listed both in files and in links" in result["msg"]
    result = run(
        {"links": [{"path": str(path), "src": "/a"}, {"path": str(path / "in"), "src": "/b"}]}
    )
    assert f"its parent {path} is a link of this task" in result["msg"]
    assert not path.exists() and not path.is_symlink()


def test_missing_parent_with_create_dirs_false(plugins):
    package, bin_dir = plugins
    result = run({"links": links_for(package, bin_dir, "bridge"), "create_dirs": False})
    assert result["failed"] is True
    assert "does not exist and create_dirs is false" in result["msg"]


def test_link_failure_reports_what_was_done(plugins, monkeypatch):
    package, bin_dir = plugins
    real = file_bundle.apply_link

    def fail_on_portmap(plan):
        if plan["path"].endswith("portmap"):
            raise OSError(13, "Permission denied")
        real(plan)

    monkeypatch.setattr(file_bundle, "apply_link", fail_on_portmap)
    result = run({"links": links_for(package, bin_dir, "bridge", "portmap")})
    assert result["failed"] is True
    assert result["msg"] == (
        f"file_bundle: cannot link {bin_dir / 'portmap'}: [Errno 13] Permission denied"
    )
    assert result["changed"] is True
    assert [e["path"] for e in result["links"]] == [str(bin_dir / "bridge")]
    assert (bin_dir / "bridge").is_symlink()
    assert not (bin_dir / "portmap").exists()
