"""The built collection carries what users need and none of the development files."""

import tarfile


def test_build_leaves_out_development_files(ansible, repo, tmp_path):
    res = ansible(
        "ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(repo)
    )
    assert res.returncode == 0, res.stderr
    (tarball,) = tmp_path.glob("prodgrade-kubernetes-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    tops = {n.split("/")[0] for n in names}
    for unwanted in ("tests", "molecule", "lab", "bench", ".cache", ".venv", ".ci", ".git"):
        assert unwanted not in tops, f"{unwanted}/ is in the built collection"
    assert not any(n.startswith("inventories/lab") for n in names)
    for wanted in ("MANIFEST.json", "README.md", "meta/runtime.yml", "playbooks/cluster.yml"):
        assert wanted in names, f"{wanted} is missing from the built collection"
    assert any(n.startswith("roles/node/") for n in names)
    assert any(n.startswith("plugins/modules/") for n in names)
