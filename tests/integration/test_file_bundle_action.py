"""The file_bundle action and module, run for real through ``ansible`` against this machine.

Sources and destinations live in tmp_path and owner/group are the names of the user running
the tests, so nothing outside tmp_path is touched and root is not needed.
"""

import base64
import grp
import json
import os
import pwd
import stat
import sys
from types import SimpleNamespace

import pytest
import yaml

USER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name
SECRET = "MC4CAQAwBQYDK2VwBCIEIL-integration-secret-5f0c9a"
KEY = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n".encode()
CERT = b"-----BEGIN CERTIFICATE-----\nMIIBpublic\n-----END CERTIFICATE-----\n"
OLD = 1_000_000_000  # an mtime far in the past, to see whether a file was rewritten
INTERPRETER = json.dumps({"ansible_python_interpreter": sys.executable})


def bundle(ansible, files, *flags, **options):
    """Run the task once on localhost; return the process and the parsed task result."""
    args = json.dumps({"files": files, **options})
    res = ansible(
        "ansible",
        "localhost",
        "-c",
        "local",
        "-e",
        INTERPRETER,
        "-m",
        "prodgrade.kubernetes.file_bundle",
        "-a",
        args,
        *flags,
    )
    return res, parse_result(res.stdout)


def parse_result(stdout):
    """The result printed after ``localhost | STATUS =>`` (YAML or JSON)."""
    marker = "localhost | "
    start = stdout.rfind(marker)
    assert start >= 0, stdout
    head, _, body = stdout[start:].partition("=>")
    result = yaml.safe_load(body) or {}
    result["_status"] = head[len(marker) :].strip()
    return result


def mode_of(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path):
    """A controller-side store with a key and a certificate, and where they go on the host."""
    src = tmp_path / "store"
    src.mkdir()
    (src / "apiserver.key").write_bytes(KEY)
    (src / "apiserver.crt").write_bytes(CERT)
    host = tmp_path / "host" / "etc" / "kubernetes" / "pki"

    return SimpleNamespace(
        key_src=src / "apiserver.key",
        crt_src=src / "apiserver.crt",
        key=host / "apiserver.key",
        crt=host / "apiserver.crt",
        files=[
            {
                "src": str(src / "apiserver.key"),
                "dest": str(host / "apiserver.key"),
                "mode": "0600",
                "owner": USER,
                "group": GROUP,
            },
            {
                "src": str(src / "apiserver.crt"),
                "dest": str(host / "apiserver.crt"),
                "owner": USER,
                "group": GROUP,
            },
        ],
    )


def test_first_run_writes_second_run_changes_nothing(ansible, store):
    res, result = bundle(ansible, store.files)
    assert res.returncode == 0, res.stdout + res.stderr
    assert result["_status"] == "CHANGED"
    assert result["changed"] is True
    assert [f["reasons"] for f in result["files"]] == [["created"], ["created"]]
    assert store.key.read_bytes() == KEY
    assert store.crt.read_bytes() == CERT
    assert mode_of(store.key) == 0o600
    assert mode_of(store.crt) == 0o644

    for path in (store.key, store.crt):
        os.utime(path, (OLD, OLD))
    res, result = bundle(ansible, store.files)
    assert res.returncode == 0, res.stdout + res.stderr
    assert result["_status"] == "SUCCESS"
    assert result["changed"] is False
    assert [f["changed"] for f in result["files"]] == [False, False]
    assert store.key.stat().st_mtime == OLD
    assert store.crt.stat().st_mtime == OLD


def test_check_mode_writes_nothing(ansible, store, tmp_path):
    res, result = bundle(ansible, store.files, "--check")
    assert res.returncode == 0, res.stdout + res.stderr
    assert result["changed"] is True
    assert [f["reasons"] for f in result["files"]] == [["created"], ["created"]]
    assert not (tmp_path / "host").exists()

    bundle(ansible, store.files)
    os.utime(store.crt, (OLD, OLD))
    store.crt_src.write_bytes(CERT + b"renewed\n")
    res, result = bundle(ansible, store.files, "--check")
    assert result["changed"] is True
    assert [f["reasons"] for f in result["files"]] == [[], ["content"]]
    assert store.crt.read_bytes() == CERT
    assert store.crt.stat().st_mtime == OLD


def test_only_the_changed_source_is_rewritten(ansible, store):
    bundle(ansible, store.files)
    for path in (store.key, store.crt):
        os.utime(path, (OLD, OLD))
    store.crt_src.write_bytes(CERT + b"renewed\n")
    res, result = bundle(ansible, store.files)
    assert res.returncode == 0, res.stdout + res.stderr
    assert result["changed"] is True
    assert result["files"] == [
        {"dest": str(store.key), "changed": False, "reasons": []},
        {"dest": str(store.crt), "changed": True, "reasons": ["content"]},
    ]
    assert store.crt.read_bytes() == CERT + b"renewed\n"
    assert store.crt.stat().st_mtime != OLD
    assert store.key.stat().st_mtime == OLD


def test_missing_source_fails_clearly_and_writes_nothing(ansible, store, tmp_path):
    missing = tmp_path / "store" / "front-proxy-ca.crt"
    files = [*store.files, {"src": str(missing), "dest": str(store.key.parent / "fp.crt")}]
    res, result = bundle(ansible, files)
    assert res.returncode != 0
    assert result["_status"] == "FAILED!"
    assert result["msg"] == f"file_bundle: {missing} does not exist on the controller"
    assert not (tmp_path / "host").exists()


def test_directory_source_is_refused(ansible, store, tmp_path):
    files = [{"src": str(tmp_path / "store"), "dest": str(store.key)}]
    res, result = bundle(ansible, files)
    assert res.returncode != 0
    assert "is a directory on the controller, not a file" in result["msg"]
    assert not (tmp_path / "host").exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"content": "eA=="}, "needs exactly one of src or content"),
        ({"src": None}, "needs exactly one of src or content"),
        ({"permissions": "0600"}, "unsupported key(s) permissions"),
    ],
)
def test_malformed_items_are_refused_by_the_action(ansible, store, tmp_path, extra, expected):
    files = [dict(store.files[0], **extra)]
    res, result = bundle(ansible, files)
    assert res.returncode != 0
    assert expected in result["msg"]
    assert not (tmp_path / "host").exists()


def test_unknown_owner_fails_before_writing(ansible, store, tmp_path):
    files = [store.files[0], dict(store.files[1], owner="no-such-user-x")]
    res, result = bundle(ansible, files)
    assert res.returncode != 0
    assert f"the owner of {store.crt}, user 'no-such-user-x', does not exist" in result["msg"]
    assert not (tmp_path / "host").exists()


def test_content_items_and_create_dirs(ansible, store, tmp_path):
    dest = tmp_path / "host" / "etc" / "kubernetes" / "kubelet.conf"
    kubeconfig = b"apiVersion: v1\nkind: Config\n"
    files = [
        *store.files,
        {
            "content": base64.b64encode(kubeconfig).decode(),
            "dest": str(dest),
            "mode": "0600",
            "owner": USER,
            "group": GROUP,
        },
    ]
    res, result = bundle(ansible, files, dir_mode="0750")
    assert res.returncode == 0, res.stdout + res.stderr
    assert dest.read_bytes() == kubeconfig
    assert mode_of(dest) == 0o600
    assert mode_of(store.key.parent) == 0o750
    assert result["created_dirs"][-1] == str(store.key.parent)

    res, result = bundle(ansible, [files[0]], create_dirs=False, dir_mode="0700")
    assert result["changed"] is False


@pytest.mark.parametrize("flags", [("-v",), ("--diff",), ("-v", "--diff"), ("-vvv", "--diff")])
def test_secret_never_appears_in_the_output(ansible, store, tmp_path, flags):
    inline_secret = base64.b64encode(os.urandom(1200)).decode()
    inline = {
        "content": inline_secret,
        "dest": str(store.key.parent / "sa.key"),
        "mode": "0600",
        "owner": USER,
        "group": GROUP,
    }
    files = [*store.files, inline]
    encoded = base64.b64encode(KEY).decode()
    outputs = []

    res, result = bundle(ansible, files, *flags)  # every file created
    assert res.returncode == 0, res.stdout + res.stderr
    outputs.append(res.stdout + res.stderr)
    store.key_src.write_bytes(KEY.replace(b"secret", b"rotated"))  # content changed
    store.key.chmod(0o644)  # and the mode
    res, result = bundle(ansible, files, *flags)
    assert result["files"][0]["reasons"] == ["content", "mode 0644->0600"]
    outputs.append(res.stdout + res.stderr)
    if "--diff" in flags:
        assert f"--- before: {store.key}" in res.stdout
        assert "<content not shown: " in res.stdout
        assert "-mode: 0644" in res.stdout
        assert "+mode: 0600" in res.stdout
    res, _result = bundle(ansible, [dict(f, owner="no-such-user-x") for f in files], *flags)
    assert res.returncode != 0  # a failed task prints its result as well
    outputs.append(res.stdout + res.stderr)

    for text in outputs:
        assert SECRET not in text
        assert "integration-rotated" not in text
        assert "PRIVATE KEY" not in text
        assert encoded not in text
        assert encoded[:40] not in text
        assert inline_secret[:40] not in text


def test_playbook_relative_src_vault_and_registered_result(ansible, tmp_path):
    """A relative src is found in files/ next to the playbook; vaulted sources are decrypted."""
    play_dir = tmp_path / "play"
    (play_dir / "files").mkdir(parents=True)
    (play_dir / "files" / "ca.crt").write_bytes(CERT)
    vaulted = play_dir / "files" / "ca.key"
    vaulted.write_bytes(KEY)
    password = tmp_path / "vault-pass"
    password.write_text("integration-test-password\n")
    res = ansible("ansible-vault", "encrypt", "--vault-password-file", str(password), str(vaulted))
    assert res.returncode == 0, res.stderr
    assert SECRET.encode() not in vaulted.read_bytes()

    out = tmp_path / "host"
    registered = tmp_path / "registered.json"
    playbook = play_dir / "site.yml"
    task = {
        "prodgrade.kubernetes.file_bundle": {
            "files": [
                {"src": "ca.crt", "dest": str(out / "ca.crt"), "owner": USER, "group": GROUP},
                {
                    "src": "ca.key",
                    "dest": str(out / "ca.key"),
                    "mode": "0600",
                    "owner": USER,
                    "group": GROUP,
                },
            ]
        },
        "register": "bundle",
    }
    save = {"ansible.builtin.copy": {"content": "{{ bundle | to_json }}", "dest": str(registered)}}
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars": {"ansible_python_interpreter": sys.executable},
                    "tasks": [task, save],
                }
            ]
        )
    )
    res = ansible("ansible-playbook", "--vault-password-file", str(password), "-v", str(playbook))
    assert res.returncode == 0, res.stdout + res.stderr
    assert (out / "ca.crt").read_bytes() == CERT
    assert (out / "ca.key").read_bytes() == KEY
    assert mode_of(out / "ca.key") == 0o600
    text = registered.read_text()
    assert SECRET not in text
    assert base64.b64encode(KEY).decode() not in text
    saved = json.loads(text)
    assert saved["changed"] is True
    assert [f["dest"] for f in saved["files"]] == [str(out / "ca.crt"), str(out / "ca.key")]
    assert '"content"' not in text  # no item key, not even a masked one
    assert SECRET not in res.stdout + res.stderr


# --- directories and show_diff --------------------------------------------------------------

CONFIG = b"name: etcd-1\nlisten-client-urls: https://10.0.0.1:2379\n"


def test_directories_and_files_in_one_call(ansible, store, tmp_path):
    etc = tmp_path / "host" / "etc" / "etcd"
    data = tmp_path / "host" / "var" / "lib" / "etcd"
    conf = etc / "etcd.conf.yml"
    directories = [
        {"path": str(etc), "mode": "0750", "owner": USER, "group": GROUP},
        {"path": str(data), "mode": "0700", "owner": USER, "group": GROUP},
    ]
    files = [
        {
            "content": base64.b64encode(CONFIG).decode(),
            "dest": str(conf),
            "mode": "0640",
            "owner": USER,
            "group": GROUP,
            "show_diff": True,
        }
    ]
    res, result = bundle(ansible, files, "--check", directories=directories)
    assert res.returncode == 0, res.stdout + res.stderr
    assert [d["reasons"] for d in result["directories"]] == [["created"], ["created"]]
    assert not (tmp_path / "host").exists()

    res, result = bundle(ansible, files, directories=directories)
    assert res.returncode == 0, res.stdout + res.stderr
    assert result["_status"] == "CHANGED"
    assert result["directories"] == [
        {"path": str(etc), "changed": True, "reasons": ["created"]},
        {"path": str(data), "changed": True, "reasons": ["created"]},
    ]
    assert mode_of(etc) == 0o750
    assert mode_of(data) == 0o700
    assert conf.read_bytes() == CONFIG
    host = tmp_path / "host"
    assert result["created_dirs"] == [
        str(host),
        str(host / "etc"),
        str(host / "var"),
        str(host / "var" / "lib"),
    ]

    data.chmod(0o755)
    res, result = bundle(ansible, files, directories=directories)
    assert result["directories"][1]["reasons"] == ["mode 0755->0700"]
    assert mode_of(data) == 0o700
    res, result = bundle(ansible, files, directories=directories)
    assert result["_status"] == "SUCCESS"
    assert result["changed"] is False


def test_directories_without_files(ansible, tmp_path):
    path = tmp_path / "host" / "manifests"
    directories = [{"path": str(path), "mode": "0700", "owner": USER, "group": GROUP}]
    res = ansible(
        "ansible",
        "localhost",
        "-c",
        "local",
        "-e",
        INTERPRETER,
        "-m",
        "prodgrade.kubernetes.file_bundle",
        "-a",
        json.dumps({"directories": directories}),
    )
    result = parse_result(res.stdout)
    assert res.returncode == 0, res.stdout + res.stderr
    assert result["files"] == []
    assert result["directories"][0]["reasons"] == ["created"]
    assert mode_of(path) == 0o700


def test_nothing_to_do_is_refused_by_the_action(ansible, tmp_path):
    res, result = bundle(ansible, [], directories=[])
    assert res.returncode != 0
    assert result["msg"] == (
        "file_bundle: nothing to do: give at least one item in files, directories or links"
    )


def test_non_directory_at_a_directory_path_writes_nothing(ansible, store, tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"keep")
    directories = [
        {"path": str(store.key.parent), "owner": USER, "group": GROUP},
        {"path": str(plain), "owner": USER, "group": GROUP},
    ]
    res, result = bundle(ansible, store.files, directories=directories)
    assert res.returncode != 0
    assert f"{plain} exists but is not a directory" in result["msg"]
    assert not (tmp_path / "host").exists()
    assert plain.read_bytes() == b"keep"


def test_show_diff_shows_only_the_marked_files(ansible, store, tmp_path):
    conf = store.key.parent / "etcd.conf.yml"
    config_item = {
        "content": base64.b64encode(CONFIG).decode(),
        "dest": str(conf),
        "owner": USER,
        "group": GROUP,
        "show_diff": True,
    }
    files = [*store.files, config_item]
    res, result = bundle(ansible, files, "--diff")
    assert res.returncode == 0, res.stdout + res.stderr
    output = res.stdout + res.stderr
    assert "+listen-client-urls: https://10.0.0.1:2379" in res.stdout
    assert "+name: etcd-1" in res.stdout
    assert f"--- before: {store.key}" in res.stdout
    assert "<content not shown: " in res.stdout
    assert SECRET not in output
    assert "PRIVATE KEY" not in output
    assert "MIIBpublic" not in output  # the certificate has no show_diff either

    new_config = CONFIG.replace(b"etcd-1", b"etcd-2")
    store.key_src.write_bytes(KEY.replace(b"secret", b"rotated"))
    files[-1] = dict(config_item, content=base64.b64encode(new_config).decode())
    res, result = bundle(ansible, files, "--diff")
    assert res.returncode == 0, res.stdout + res.stderr
    output = res.stdout + res.stderr
    assert "-name: etcd-1" in res.stdout
    assert "+name: etcd-2" in res.stdout
    assert " listen-client-urls: https://10.0.0.1:2379" in res.stdout  # context line
    assert [f["reasons"] for f in result["files"]] == [["content"], [], ["content"]]
    assert conf.read_bytes() == new_config
    assert "integration-rotated" not in output
    assert SECRET not in output
    assert "PRIVATE KEY" not in output

    res, result = bundle(ansible, files)  # no --diff: no content at all
    assert result["changed"] is False
    assert "listen-client-urls" not in res.stdout + res.stderr
