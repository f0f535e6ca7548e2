# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing files of the PKI store (and its backups) so that a crash never leaves half a file.

Shared by the pki module, the store's backup and restore, and its recovery from the hosts.
Errors are the OSError of the failing call; callers put them into their own words.
"""

from __future__ import annotations

import os
import tempfile

# Temporary files start with this, so readers of the store can skip them.
TEMP_PREFIX = ".pki-"
PRIVATE_DIR_MODE = 0o700


def make_private_dirs(path, mode=PRIVATE_DIR_MODE):
    """Create ``path`` and every missing parent with ``mode`` (makedirs would give parents
    0755); return the directories created, parents first. NotADirectoryError when a file is
    in the way."""
    path = os.path.abspath(path)
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        raise NotADirectoryError(f"{path} exists but is not a directory")
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise NotADirectoryError(f"{directory} exists but is not a directory") from None
        os.chmod(directory, mode)
    return list(reversed(missing))


def write_atomic(path, data, mode):
    """Write ``data`` to ``path`` with ``mode`` through a temporary file in the same directory."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def fsync_dir(path):
    """Make a rename in ``path`` durable; best effort (not every filesystem allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
