# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The real main() of prodgrade.kubernetes.bundle_debs, with the real apt-get and apt-cache,
against a tiny Debian archive written in tmp_path.

The archive is laid out as Debian's (``dists/<suite>/InRelease``, ``main/binary-<arch>/
Packages``, ``pool/``), its InRelease is signed by a throwaway gpg key, and apt reaches it
through its ``copy:`` method, which copies packages into apt's cache as a download would.
The package files are a few bytes each: neither apt --download-only nor the module opens them,
they only hash them.

``apt-get`` and ``apt-cache`` on PATH are shell wrappers that log their arguments and exec the
real programs, so the tests can tell what was resolved and downloaded.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import subprocess

import pytest
from module_runner import run_module

from ansible_collections.prodgrade.kubernetes.plugins.modules import bundle_debs

APT_GET = shutil.which("apt-get")
APT_CACHE = shutil.which("apt-cache")
pytestmark = pytest.mark.skipif(
    not (APT_GET and APT_CACHE and shutil.which("gpg") and shutil.which("gpgv")),
    reason="apt-get, apt-cache, gpg and gpgv are needed",
)

SUITE = "bookworm"
SEP = "\x1f"


# --- a signed Debian archive ------------------------------------------------------------------


def make_key(home):
    """A throwaway signing key in ``home``; returns the path of its exported public keyring."""
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-generate-key", "bundle_debs test", "ed25519",
         "sign", "1y"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    keyring = home.parent / f"{home.name}.gpg"
    keyring.write_bytes(subprocess.run([*gpg, "--export"], check=True, capture_output=True).stdout)
    return keyring


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """{name: (gnupg home, public keyring)} for the archive's key and somebody else's."""
    base = tmp_path_factory.mktemp("keys")
    homes = {name: base / name for name in ("archive", "other")}
    result = {name: (home, make_key(home)) for name, home in homes.items()}
    yield result
    # The agents gpg started for these homes.
    for home in homes.values() if shutil.which("gpgconf") else ():
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False,
            capture_output=True,
        )  # fmt: skip


class Archive:
    """A Debian archive in a directory: packages are added, then published (indices signed)."""

    def __init__(self, root, gnupg_home, architectures=("amd64",)):
        self.root = root
        self.home = gnupg_home
        self.architectures = architectures
        self.stanzas = {}  # dist -> [(arch, stanza text)]
        self.files = {}  # (name, version, arch) -> pool file

    def add(self, name, version, arch="amd64", dist=SUITE, sha256=True, **fields):
        """A package; ``fields`` are control fields with ``_`` for ``-`` (pre_depends=...)."""
        pool_version = version.split(":", 1)[-1]  # the pool's file name has no epoch
        rel = f"pool/main/{name[0]}/{name}/{name}_{pool_version}_{arch}.deb"
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = f"{name} {version} {arch}\n".encode()
        path.write_bytes(data)
        lines = [f"Package: {name}", f"Version: {version}", f"Architecture: {arch}"]
        lines += ["Maintainer: Test <test@example.invalid>"]
        lines += [f"{key.replace('_', '-').title()}: {value}" for key, value in fields.items()]
        lines += [f"Filename: {rel}", f"Size: {len(data)}"]
        lines += [f"MD5sum: {hashlib.md5(data).hexdigest()}"]
        if sha256:
            lines += [f"SHA256: {hashlib.sha256(data).hexdigest()}"]
        lines += [f"Description: {name}, a test package"]
        self.stanzas.setdefault(dist, []).append((arch, "\n".join(lines) + "\n"))
        self.files[(name, version, arch)] = path
        return path

    def packages_path(self, arch="amd64", dist=SUITE):
        return self.root / "dists" / dist / "main" / f"binary-{arch}" / "Packages"

    def publish(self):
        """Write every suite's Packages and a Release signed as InRelease."""
        date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        for dist, stanzas in self.stanzas.items():
            indices = {}
            for arch in self.architectures:
                text = "\n".join(s for a, s in stanzas if a in (arch, "all"))
                path = self.packages_path(arch, dist)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                indices[f"main/binary-{arch}/Packages"] = text.encode()
            lines = [
                "Origin: Test",
                f"Suite: {dist}",
                f"Codename: {dist}",
                f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S UTC')}",
                f"Architectures: {' '.join(self.architectures)}",
                "Components: main",
                "SHA256:",
            ]
            for name, data in sorted(indices.items()):
                lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data):>8} {name}")
            release = self.root / "dists" / dist / "Release"
            release.write_text("\n".join(lines) + "\n")
            inrelease = release.with_name("InRelease")
            inrelease.unlink(missing_ok=True)
            subprocess.run(
                ["gpg", "--homedir", str(self.home), "--batch", "--quiet", "--clearsign",
                 "--output", str(inrelease), str(release)],
                check=True,
                capture_output=True,
            )  # fmt: skip

    def source(self, dist=SUITE):
        return f"deb copy:{self.root} {dist} main"


@pytest.fixture
def archive(tmp_path, keys):
    return Archive(tmp_path / "mirror", keys["archive"][0])


@pytest.fixture
def apt_log(tmp_path, monkeypatch):
    """apt-get and apt-cache on PATH log each call (one line, arguments \\x1f-separated)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "apt.log"
    log.touch()
    for name, real in (("apt-get", APT_GET), ("apt-cache", APT_CACHE)):
        wrapper = bindir / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f"{{ printf '%s' {name}; for a in \"$@\"; do printf '\\037%s' \"$a\"; done; echo; }}"
            f" >> '{log}'\n"
            f'exec {real} "$@"\n'
        )
        wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


def apt_calls(log):
    """Each call as [program, its command (update, install, show), the arguments after the
    command, all its arguments]."""
    calls = []
    for line in log.read_text().splitlines():
        program, *argv = line.split(SEP)
        # Past the options and the NAME=VALUE of each -o, the first word is the command.
        command = next(a for a in argv if not a.startswith("-") and "=" not in a)
        calls.append([program, command, argv[argv.index(command) + 1 :], argv])
    return calls


def downloads(log):
    """The package=version lists of the apt-get --download-only calls."""
    return [rest for _p, _c, rest, argv in apt_calls(log) if "--download-only" in argv]


def clear(log):
    log.write_text("")


def args(tmp_path, archive, packages, keyring, **extra):
    result = {
        "dest": str(tmp_path / "bundle"),
        "suite": SUITE,
        "packages": packages,
        "sources": [archive.source()],
        "keyring": str(keyring),
        "state_dir": str(tmp_path / "state"),
    }
    result.update(extra)
    return result


def run(module_args, check_mode=False):
    return run_module(bundle_debs.main, module_args, check_mode=check_mode)


def repo(tmp_path):
    return tmp_path / "bundle" / "debs" / SUITE


def listing(path):
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def closure_of(result):
    return [(a["name"], a["version"]) for a in result["artifacts"]]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def keyring(keys):
    return keys["archive"][1]


@pytest.fixture
def app_archive(archive):
    """``app`` and what it needs; alternatives, versions, Provides, Pre-Depends, Recommends."""
    archive.add(
        "app",
        "1:2.0+b1-1",
        depends="liba (>= 3) | libb, libc | libd, mail-transport-agent",
        pre_depends="prebase",
        recommends="extra",
    )
    archive.add("liba", "1.0")  # too old for the first alternative
    archive.add("libb", "1.0", depends="libz (>= 1.2)")
    archive.add("libc", "1.0")
    archive.add("libd", "1.0")
    archive.add("libz", "1.1")
    archive.add("libz", "1.3")
    archive.add("postfix", "3.7.11-0+deb12u1", arch="all", provides="mail-transport-agent")
    archive.add("prebase", "5")
    archive.add("extra", "1.0")
    archive.add("unrelated", "1.0")
    archive.publish()
    return archive


APP_CLOSURE = [
    ("app", "1:2.0+b1-1"),
    ("libb", "1.0"),
    ("libc", "1.0"),
    ("libz", "1.3"),
    ("postfix", "3.7.11-0+deb12u1"),
    ("prebase", "5"),
]


# --- the closure ------------------------------------------------------------------------------


def test_closure_of_alternatives_versions_and_virtual_packages(
    tmp_path, app_archive, keyring, apt_log
):
    result = run(args(tmp_path, app_archive, ["app"], keyring))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    # liba is too old for "liba (>= 3) | libb", libc comes first in "libc | libd", libz 1.3
    # meets ">= 1.2", postfix provides mail-transport-agent; no Recommends, nothing unrelated.
    assert closure_of(result) == APP_CLOSURE
    assert result["removed"] == []
    paths = [a["path"] for a in result["artifacts"]]
    assert sorted(result["fetched"]) == sorted(paths)
    assert listing(repo(tmp_path)) == sorted(p.rsplit("/", 1)[1] for p in paths)
    for entry in result["artifacts"]:
        pool = app_archive.files[(entry["name"], entry["version"], entry["arch"])]
        stored = tmp_path / "bundle" / entry["path"]
        assert stored.read_bytes() == pool.read_bytes()
        assert entry["sha256"] == sha(pool)
        assert entry["suite"] == SUITE and entry["kind"] == "deb"
        assert entry["source"].startswith(f"copy:{app_archive.root}/pool/main/")
        assert entry.get("requested", False) is (entry["name"] == "app")
    app, postfix = result["artifacts"][0], result["artifacts"][4]
    # The epoch stays in the version, not in the file name (as in Debian's pool).
    assert app["path"] == f"debs/{SUITE}/app_2.0+b1-1_amd64.deb"
    assert app["arch"] == "amd64"
    assert postfix["path"] == f"debs/{SUITE}/postfix_3.7.11-0+deb12u1_all.deb"
    assert postfix["arch"] == "all"
    # apt-get ran with its own sources, signed by the given keyring only.
    sources = (tmp_path / "state" / "sources.list").read_text()
    assert sources == f"deb [signed-by={keyring}] copy:{app_archive.root} {SUITE} main\n"
    commands = [(program, command) for program, command, *_ in apt_calls(apt_log)]
    assert commands == [
        ("apt-get", "update"),
        ("apt-get", "install"),  # --print-uris
        ("apt-cache", "show"),
        ("apt-get", "install"),  # --download-only
    ]
    assert sorted(downloads(apt_log)[0]) == sorted(f"{n}={v}" for n, v in APP_CLOSURE)


def test_a_package_asked_for_with_its_version_is_marked_requested(
    tmp_path, app_archive, keyring, apt_log
):
    result = run(args(tmp_path, app_archive, ["libd=1.0", "libz"], keyring))
    assert closure_of(result) == [("libd", "1.0"), ("libz", "1.3")]
    assert [a.get("requested") for a in result["artifacts"]] == [True, True]


def test_a_missing_dependency_is_named(tmp_path, archive, keyring, apt_log):
    archive.add("broken", "1.0", depends="libc, nosuchlib (>= 1)")
    archive.add("libc", "1.0")
    archive.publish()
    result = run(args(tmp_path, archive, ["broken"], keyring))
    assert result["failed"] is True
    assert result["msg"].startswith(f"suite {SUITE}: apt-get cannot resolve broken: ")
    assert "broken : Depends: nosuchlib (>= 1) but it is not installable" in result["msg"]
    assert result["fetched"] == []
    assert downloads(apt_log) == []
    assert not (tmp_path / "bundle").exists()


def test_an_unknown_package_is_named(tmp_path, archive, keyring, apt_log):
    archive.add("libc", "1.0")
    archive.publish()
    result = run(args(tmp_path, archive, ["libc", "ghost"], keyring))
    assert result["failed"] is True
    assert "Unable to locate package ghost" in result["msg"]
    assert not (tmp_path / "bundle").exists()


def test_a_versioned_dependency_pinned_in_the_request(tmp_path, archive, keyring, apt_log):
    archive.add("old", "1.0", depends="libv (<< 2)")
    archive.add("libv", "1.5")
    archive.add("libv", "2.1")
    archive.publish()
    # apt's candidate (2.1) does not meet "<< 2": the error says which dependency.
    alone = run(args(tmp_path, archive, ["old"], keyring))
    assert alone["failed"] is True
    assert "old : Depends: libv (< 2) but 2.1 is to be installed" in alone["msg"]

    module_args = args(tmp_path, archive, ["old", "libv=1.5"], keyring)
    result = run(module_args)
    assert closure_of(result) == [("libv", "1.5"), ("old", "1.0")]

    # Only old is missing now: it is fetched again although libv=1.5 is not the candidate.
    (repo(tmp_path) / "old_1.0_amd64.deb").unlink()
    clear(apt_log)
    again = run(module_args)
    assert not again.get("failed"), again.get("msg")
    assert again["fetched"] == [f"debs/{SUITE}/old_1.0_amd64.deb"]
    assert listing(repo(tmp_path)) == ["libv_1.5_amd64.deb", "old_1.0_amd64.deb"]
    assert sorted(downloads(apt_log)[0]) == ["libv=1.5", "old=1.0"]


def test_a_newer_version_in_another_source_and_a_suite_asked_for(
    tmp_path, archive, keyring, apt_log
):
    archive.add("tool", "1.0", depends="libc")
    archive.add("libc", "1.0")
    archive.add("libc", "1.1", dist=f"{SUITE}-updates")
    archive.publish()
    sources = [archive.source(), archive.source(f"{SUITE}-updates")]
    result = run(args(tmp_path, archive, ["tool"], keyring, sources=sources))
    assert closure_of(result) == [("libc", "1.1"), ("tool", "1.0")]

    pinned = run(args(tmp_path, archive, ["tool", f"libc/{SUITE}"], keyring, sources=sources))
    assert closure_of(pinned) == [("libc", "1.0"), ("tool", "1.0")]
    assert [a.get("requested") for a in pinned["artifacts"]] == [True, True]
    assert pinned["removed"] == [f"debs/{SUITE}/libc_1.1_amd64.deb"]


def test_the_arch_option_picks_that_architecture(tmp_path, keys, apt_log):
    archive = Archive(tmp_path / "mirror", keys["archive"][0], architectures=("amd64", "arm64"))
    archive.add("tool", "1.0", arch="amd64", depends="common")
    archive.add("tool", "1.0", arch="arm64", depends="common")
    archive.add("common", "1.0", arch="all")
    archive.publish()
    result = run(args(tmp_path, archive, ["tool"], keys["archive"][1], arch="arm64"))
    assert [(a["name"], a["arch"]) for a in result["artifacts"]] == [
        ("common", "all"),
        ("tool", "arm64"),
    ]
    assert listing(repo(tmp_path)) == ["common_1.0_all.deb", "tool_1.0_arm64.deb"]
    assert (repo(tmp_path) / "tool_1.0_arm64.deb").read_bytes() == b"tool 1.0 arm64\n"


# --- idempotence ------------------------------------------------------------------------------


def test_second_run_changes_nothing_and_downloads_nothing(tmp_path, app_archive, keyring, apt_log):
    module_args = args(tmp_path, app_archive, ["app"], keyring)
    first = run(module_args)
    inodes = {p.name: p.stat().st_ino for p in repo(tmp_path).iterdir()}
    clear(apt_log)
    again = run(module_args)
    assert again["changed"] is False
    assert again["fetched"] == [] and again["removed"] == []
    assert again["artifacts"] == first["artifacts"]
    assert downloads(apt_log) == []
    assert [c[1] for c in apt_calls(apt_log)] == ["update", "install", "show"]
    assert {p.name: p.stat().st_ino for p in repo(tmp_path).iterdir()} == inodes


def test_only_a_missing_or_damaged_package_is_fetched_again(
    tmp_path, app_archive, keyring, apt_log
):
    module_args = args(tmp_path, app_archive, ["app"], keyring)
    run(module_args)
    libb, libz = repo(tmp_path) / "libb_1.0_amd64.deb", repo(tmp_path) / "libz_1.3_amd64.deb"
    libb.unlink()
    libz.write_bytes(b"libz 1.3 amd6X\n")  # same size, other content
    others = {p.name: p.stat().st_ino for p in repo(tmp_path).iterdir() if p != libz}
    result = run(module_args)
    assert result["changed"] is True
    assert sorted(result["fetched"]) == [f"debs/{SUITE}/{p.name}" for p in (libb, libz)]
    assert libb.read_bytes() == b"libb 1.0 amd64\n"
    assert libz.read_bytes() == b"libz 1.3 amd64\n"
    for name, inode in others.items():
        assert (repo(tmp_path) / name).stat().st_ino == inode


def test_update_false_reuses_the_lists_and_update_sees_a_new_version(
    tmp_path, archive, keyring, apt_log
):
    archive.add("tool", "1.0")
    archive.publish()
    module_args = args(tmp_path, archive, ["tool"], keyring)
    run(module_args)
    archive.add("tool", "1.1")
    archive.publish()

    clear(apt_log)
    stale = run(dict(module_args, update=False))
    assert "update" not in [c[1] for c in apt_calls(apt_log)]
    assert stale["changed"] is False
    assert closure_of(stale) == [("tool", "1.0")]

    fresh = run(module_args)
    assert closure_of(fresh) == [("tool", "1.1")]
    assert fresh["fetched"] == [f"debs/{SUITE}/tool_1.1_amd64.deb"]
    assert fresh["removed"] == [f"debs/{SUITE}/tool_1.0_amd64.deb"]
    assert listing(repo(tmp_path)) == ["tool_1.1_amd64.deb"]


def test_packages_left_out_of_the_closure_are_removed_but_not_the_indices(
    tmp_path, app_archive, keyring, apt_log
):
    run(args(tmp_path, app_archive, ["app"], keyring))
    for name in ("Packages", "Packages.gz", "Release", "InRelease", "Release.gpg"):
        (repo(tmp_path) / name).write_text("index\n")
    (repo(tmp_path) / "stray.deb").write_text("stray\n")
    result = run(args(tmp_path, app_archive, ["libb"], keyring))
    assert result["changed"] is True
    assert result["fetched"] == []
    assert result["removed"] == [
        f"debs/{SUITE}/{name}"
        for name in (
            "app_2.0+b1-1_amd64.deb",
            "libc_1.0_amd64.deb",
            "postfix_3.7.11-0+deb12u1_all.deb",
            "prebase_5_amd64.deb",
            "stray.deb",
        )
    ]
    assert listing(repo(tmp_path)) == sorted(
        ["InRelease", "Packages", "Packages.gz", "Release", "Release.gpg",
         "libb_1.0_amd64.deb", "libz_1.3_amd64.deb"]
    )  # fmt: skip


# --- check mode -------------------------------------------------------------------------------


def test_check_mode_downloads_copies_and_removes_nothing(tmp_path, app_archive, keyring, apt_log):
    repo(tmp_path).mkdir(parents=True)
    (repo(tmp_path) / "stray_1.0_amd64.deb").write_text("stray\n")
    (repo(tmp_path) / "Packages").write_text("index\n")
    result = run(args(tmp_path, app_archive, ["app"], keyring), check_mode=True)
    assert result["changed"] is True
    assert closure_of(result) == APP_CLOSURE
    assert sorted(result["fetched"]) == sorted(a["path"] for a in result["artifacts"])
    assert result["removed"] == [f"debs/{SUITE}/stray_1.0_amd64.deb"]
    assert listing(repo(tmp_path)) == ["Packages", "stray_1.0_amd64.deb"]
    assert downloads(apt_log) == []
    cache = tmp_path / "state" / "cache" / "archives"
    assert [p for p in cache.rglob("*.deb")] == []


def test_check_mode_after_a_run_reports_no_change(tmp_path, app_archive, keyring, apt_log):
    module_args = args(tmp_path, app_archive, ["app"], keyring)
    run(module_args)
    result = run(module_args, check_mode=True)
    assert result["changed"] is False
    assert result["fetched"] == [] and result["removed"] == []


# --- Debian's signatures and checksums ---------------------------------------------------------


def test_a_cached_package_not_matching_the_signed_index_aborts_naming_it(
    tmp_path, app_archive, keyring, apt_log
):
    module_args = args(tmp_path, app_archive, ["app"], keyring)
    run(module_args)
    (repo(tmp_path) / "libc_1.0_amd64.deb").unlink()
    # apt-get takes a cached file of the right size as downloaded; the module checks it.
    cached = tmp_path / "state" / "cache" / "archives" / "libc_1.0_amd64.deb"
    cached.write_bytes(b"libc 1.0 amdXX\n")
    bad = sha(cached)
    result = run(module_args)
    assert result["failed"] is True
    good = sha(app_archive.files[("libc", "1.0", "amd64")])
    assert result["msg"] == (
        f"deb libc_1.0_amd64.deb ({SUITE}): checksum mismatch: sha256 {bad}, "
        f"Debian's signed index says {good}; the file was discarded, run again to fetch it"
    )
    assert result["fetched"] == [f"debs/{SUITE}/libc_1.0_amd64.deb"]
    assert not (repo(tmp_path) / "libc_1.0_amd64.deb").exists()
    # The bad file left apt's cache: the next run fetches the real one.
    assert not cached.exists()
    result = run(module_args)
    assert result.get("failed") is not True, result.get("msg")
    assert sha(repo(tmp_path) / "libc_1.0_amd64.deb") == good


def test_a_pool_file_not_matching_the_index_is_refused(tmp_path, app_archive, keyring, apt_log):
    app_archive.files[("libz", "1.3", "amd64")].write_bytes(b"tampered libz\n" * 3)
    result = run(args(tmp_path, app_archive, ["app"], keyring))
    assert result["failed"] is True
    assert result["msg"].startswith(f"suite {SUITE}: apt-get download failed:")
    assert "libz_1.3_amd64.deb" in result["msg"]
    assert not (repo(tmp_path) / "libz_1.3_amd64.deb").exists()


def test_an_index_without_sha256_is_refused_naming_the_package(tmp_path, archive, keyring, apt_log):
    archive.add("tool", "1.0", depends="weak")
    archive.add("weak", "1.0", sha256=False)
    archive.publish()
    result = run(args(tmp_path, archive, ["tool"], keyring))
    assert result["failed"] is True
    assert result["msg"] == f"suite {SUITE}: the index gives no SHA256 for weak_1.0_amd64.deb"
    assert downloads(apt_log) == []


def test_an_archive_signed_by_another_key_is_refused(tmp_path, app_archive, keys, apt_log):
    result = run(args(tmp_path, app_archive, ["app"], keys["other"][1]))
    assert result["failed"] is True
    assert result["msg"].startswith(f"suite {SUITE}: apt-get update failed:")
    assert "NO_PUBKEY" in result["msg"] or "not signed" in result["msg"]
    assert [c[1] for c in apt_calls(apt_log)] == ["update"]
    assert not (tmp_path / "bundle").exists()


def test_an_index_changed_after_signing_is_refused(tmp_path, app_archive, keyring, apt_log):
    packages = app_archive.packages_path()
    packages.write_text(packages.read_text().replace("Version: 1.3", "Version: 1.4"))
    result = run(args(tmp_path, app_archive, ["app"], keyring))
    assert result["failed"] is True
    assert result["msg"].startswith(f"suite {SUITE}: apt-get update failed:")
    assert "main/binary-amd64/Packages" in result["msg"]
    assert downloads(apt_log) == []


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"suite": "../etc"}, "suite '../etc' cannot be used in a bundle path"),
        ({"sources": ["deb-src copy:/x bookworm main"]}, "sources must be 'deb URI SUITE"),
    ],
)
def test_bad_input_fails_before_apt_runs(tmp_path, archive, keyring, apt_log, override, expected):
    result = run(dict(args(tmp_path, archive, ["app"], keyring), **override))
    assert result["failed"] is True
    assert expected in result["msg"]
    assert apt_calls(apt_log) == []
    assert not (tmp_path / "state").exists()
