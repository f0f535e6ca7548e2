"""The rewrite_images and manifest_images filters wrap module_utils and fail as Ansible filters."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodgrade.kubernetes.plugins.filter import manifest_images, rewrite_images

TEXT = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: ghcr.io/flannel-io/flannel:v1\n"


def test_rewrite_images_filter():
    out = rewrite_images.FilterModule().filters()["rewrite_images"](TEXT, "mirror.test/k8s")
    assert out == TEXT.replace("ghcr.io/", "mirror.test/k8s/")


def test_manifest_images_filter():
    images = manifest_images.FilterModule().filters()["manifest_images"](TEXT)
    assert images == ["ghcr.io/flannel-io/flannel:v1"]


def test_filters_raise_filter_errors():
    with pytest.raises(AnsibleFilterError, match=r"rewrite_images: .*scheme"):
        rewrite_images.rewrite_images(TEXT, "https://mirror.test")
    with pytest.raises(AnsibleFilterError, match=r"manifest_images: .*YAML"):
        manifest_images.manifest_images("a: [")
