"""Make the checkout importable as ``ansible_collections.prodgrade.kubernetes``.

Ansible resolves a collection only below an ``ansible_collections/<ns>/<name>`` tree, so the
test run points such a tree at the checkout through a symlink kept in the ignored ``.cache``.
"""

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "prodgrade", "kubernetes")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", "..", ".."), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
