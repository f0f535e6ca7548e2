"""Moving a manifest's container images to another registry, and nothing else."""

import pytest
import yaml

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.manifest_images import (
    ManifestError,
    check_registry,
    manifest_images,
    rewrite_image,
    rewrite_manifest,
    split_image,
)

REGISTRY = "registry.example.com:5000/mirror"
DIGEST = "0123456789abcdef" * 4

MANIFEST = """\
---
# A comment that must survive.
kind: Namespace
apiVersion: v1
metadata:
  name: kube-flannel
  labels:
    pod-security.kubernetes.io/enforce: privileged
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  note: "image: ghcr.io/flannel-io/flannel:v0.28.9 stays as it is"
  net-conf.json: |
    {
      "Network": "10.244.0.0/16"
    }
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
  annotations:
    image: ghcr.io/not/a-container:v1
spec:
  template:
    spec:
      initContainers:
      - name: install-cni-plugin
        image: ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1
        command: [cp]
      - name: install-cni
        image: "ghcr.io/flannel-io/flannel:v0.28.9"   # quoted, with a comment
      containers:
      - image: 'ghcr.io/flannel-io/flannel:v0.28.9'
        name: kube-flannel
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tidy}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: tidy, image: busybox}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      containers:
        - name: a
          image: docker.io/library/nginx@sha256:DIGEST
        - name: b
          image: localhost:5000/tools/debug:1.0
      ephemeralContainers:
        - name: c
          image: quay.io/org/dbg
""".replace("DIGEST", DIGEST)


def test_every_container_image_moves_and_nothing_else():
    out = rewrite_manifest(MANIFEST, REGISTRY)
    assert manifest_images(out) == [
        f"{REGISTRY}/flannel-io/flannel-cni-plugin:v1.9.1-flannel1",
        f"{REGISTRY}/flannel-io/flannel:v0.28.9",
        f"{REGISTRY}/flannel-io/flannel:v0.28.9",
        f"{REGISTRY}/library/busybox",
        f"{REGISTRY}/library/nginx@sha256:" + DIGEST,
        f"{REGISTRY}/tools/debug:1.0",
        f"{REGISTRY}/org/dbg",
    ]
    before = list(yaml.safe_load_all(MANIFEST))
    after = list(yaml.safe_load_all(out))
    # Everything but the images is equal, including the look-alikes outside containers.
    assert after[1] == before[1]
    assert after[2]["metadata"] == before[2]["metadata"]
    assert "# A comment that must survive." in out
    assert "image: ghcr.io/flannel-io/flannel:v0.28.9 stays as it is" in out
    # Quoting is kept and the trailing comment too.
    assert f'image: "{REGISTRY}/flannel-io/flannel:v0.28.9"   # quoted, with a comment' in out
    assert f"- image: '{REGISTRY}/flannel-io/flannel:v0.28.9'" in out
    # Only the image lines differ.
    changed = [
        (a, b) for a, b in zip(MANIFEST.splitlines(), out.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 7
    assert all("image" in a for a, _ in changed)


def test_a_rewritten_manifest_moves_again():
    once = rewrite_manifest(MANIFEST, REGISTRY)
    # The rewritten image's registry part is the registry's host: moving it again replaces it.
    assert manifest_images(rewrite_manifest(once, "registry.example.com:5000")) == [
        image.replace(REGISTRY, "registry.example.com:5000/mirror")
        for image in manifest_images(once)
    ]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ghcr.io/flannel-io/flannel:v0.28.9", ("ghcr.io", "flannel-io/flannel", ":v0.28.9")),
        ("busybox", (None, "library/busybox", "")),
        ("busybox:1.36", (None, "library/busybox", ":1.36")),
        ("flannel/flannel:v0.21.5", (None, "flannel/flannel", ":v0.21.5")),
        ("localhost/x", ("localhost", "x", "")),
        ("reg:5000/a/b:c@sha256:ff", ("reg:5000", "a/b", ":c@sha256:ff")),
    ],
)
def test_split_image(image, expected):
    assert split_image(image) == expected


def test_rewrite_image_examples():
    assert (
        rewrite_image("ghcr.io/flannel-io/flannel:v0.28.9", "registry.lab.test/")
        == "registry.lab.test/flannel-io/flannel:v0.28.9"
    )
    assert rewrite_image("busybox", "r.test") == "r.test/library/busybox"


@pytest.mark.parametrize(
    "registry", ["", "https://registry.test", "registry test", None, "reg/UPPER"]
)
def test_bad_registries_are_refused(registry):
    with pytest.raises(ManifestError):
        check_registry(registry)


@pytest.mark.parametrize("image", ["", "has space", 5])
def test_bad_images_are_refused(image):
    with pytest.raises(ManifestError):
        split_image(image)


def test_invalid_yaml_is_refused():
    with pytest.raises(ManifestError, match="not valid YAML"):
        rewrite_manifest("a: [b\n", REGISTRY)


def test_non_text_is_refused():
    with pytest.raises(ManifestError):
        rewrite_manifest(b"x", REGISTRY)


def test_block_scalar_image_is_refused():
    with pytest.raises(ManifestError, match="block scalar"):
        rewrite_manifest("spec:\n  containers:\n  - image: |\n      busybox\n", REGISTRY)


def test_a_manifest_without_containers_is_unchanged():
    text = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata: {image: busybox}\n"
    assert rewrite_manifest(text, REGISTRY) == text
    assert manifest_images(text) == []


def test_empty_documents_are_skipped():
    assert manifest_images("---\n---\nspec:\n  containers: [{image: a.io/b}]\n") == ["a.io/b"]


def test_unsafe_plain_values_get_quoted():
    # A rewritten plain image that would not read back as the same string is written as JSON.
    out = rewrite_manifest("spec:\n  containers:\n  - image: busybox\n", "r.test")
    assert yaml.safe_load(out)["spec"]["containers"][0]["image"] == "r.test/library/busybox"
