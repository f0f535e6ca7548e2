"""Shared by every test: the checkout as ``ansible_collections.prodgrade.kubernetes``.

Ansible resolves a collection only below an ``ansible_collections/<ns>/<name>`` tree, so the
tests point such a tree at the checkout through a symlink kept in the ignored ``.cache``
(the Makefile makes the same link for the lab and Molecule).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "prodgrade" / "kubernetes"

if not LINK.is_symlink():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(Path("..", "..", "..", ".."))
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def ansible():
    """Run an ansible-* command from the checkout, resolving the collection to it."""
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }

    def run(*cmd):
        return subprocess.run(cmd, env=env, cwd=REPO, text=True, capture_output=True, check=False)

    return run
