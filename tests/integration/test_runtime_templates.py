"""Contract tests for the runtime role's files, rendered by Ansible itself.

CRI-O and cri-dockerd cannot be installed here and containerd 2.x is not packaged for the
lab's Debian releases, so their files are checked against the keys their documentation
defines (TOML parsed, units read); containerd 1.6/1.7 also runs for real in Molecule.
"""

import configparser
import json

import pytest
import tomllib

ROLE = "roles/runtime/templates"
VARS = {
    "runtime_sandbox_image": "registry.example.test/k8s/pause:3.10",
    "runtime_cgroup_driver": "systemd",
    "runtime_cni_bin_dir": "/opt/cni/bin",
    "runtime_cni_conf_dir": "/etc/cni/net.d",
    "runtime_containerd_snapshotter": "overlayfs",
    "runtime_containerd_registry_config_dir": "/etc/containerd/certs.d",
}


@pytest.fixture
def render(ansible, repo, tmp_path):
    def render(template, **overrides):
        dest = tmp_path / template.removesuffix(".j2")
        res = ansible(
            "ansible", "localhost", "-c", "local", "-m", "ansible.builtin.template",
            "-a", f"src={repo / ROLE / template} dest={dest}",
            "-e", json.dumps({**VARS, **overrides}),
        )  # fmt: skip
        assert res.returncode == 0, res.stdout + res.stderr
        return dest.read_text()

    return render


def test_containerd_1x_config(render):
    cfg = tomllib.loads(render("containerd-config-v2.toml.j2"))
    assert cfg["version"] == 2
    cri = cfg["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == VARS["runtime_sandbox_image"]
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True
    assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert cri["cni"] == {"bin_dir": "/opt/cni/bin", "conf_dir": "/etc/cni/net.d"}


def test_containerd_2x_config(render):
    cfg = tomllib.loads(render("containerd-config-v3.toml.j2", runtime_cgroup_driver="cgroupfs"))
    assert cfg["version"] == 3
    images = cfg["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == VARS["runtime_sandbox_image"]
    assert images["registry"]["config_path"] == "/etc/containerd/certs.d"
    runtime = cfg["plugins"]["io.containerd.cri.v1.runtime"]
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False
    assert runtime["cni"]["bin_dir"] == "/opt/cni/bin"
    # The 1.x plugin name must not leak into a 2.x file.
    assert "io.containerd.grpc.v1.cri" not in cfg["plugins"]


def test_values_are_escaped_not_pasted(render):
    image = 'registry.example.test/k8s/pause:3.10" # injected'
    cfg = tomllib.loads(render("containerd-config-v2.toml.j2", runtime_sandbox_image=image))
    assert cfg["plugins"]["io.containerd.grpc.v1.cri"]["sandbox_image"] == image


@pytest.mark.parametrize(("driver", "conmon"), [("systemd", "pod"), ("cgroupfs", "system.slice")])
def test_crio_dropin(render, driver, conmon):
    cfg = tomllib.loads(render("crio-dropin.conf.j2", runtime_cgroup_driver=driver))
    assert cfg["crio"]["runtime"] == {"cgroup_manager": driver, "conmon_cgroup": conmon}
    assert cfg["crio"]["image"]["pause_image"] == VARS["runtime_sandbox_image"]
    assert cfg["crio"]["network"] == {
        "network_dir": "/etc/cni/net.d",
        "plugin_dirs": ["/opt/cni/bin"],
    }


def unit(text):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(text)
    return parser


def test_cri_dockerd_units(render):
    socket = unit(render("cri-docker.socket.j2"))
    assert socket["Socket"]["ListenStream"] == "%t/cri-dockerd.sock"
    assert socket["Socket"]["SocketMode"] == "0660"
    service = unit(render("cri-docker.service.j2"))
    exec_start = service["Service"]["ExecStart"].split()
    assert exec_start[0] == "/usr/local/bin/cri-dockerd"
    assert f"--pod-infra-container-image={VARS['runtime_sandbox_image']}" in exec_start
    assert "--network-plugin=cni" in exec_start
    assert "--container-runtime-endpoint" in exec_start
    assert "cri-docker.socket" in service["Unit"]["Requires"]
