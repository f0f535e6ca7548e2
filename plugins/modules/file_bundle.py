#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_bundle
short_description: Put directories, files and links, secrets included, on a host in one task call
version_added: 0.1.0
description:
  - Ensures many directories and writes many small files on a host in one call, each with its own
    mode, owner and group. It is meant for certificates, private keys, kubeconfigs and
    configuration files, where a host needs some 25 files and their directories and one
    M(ansible.builtin.copy) or M(ansible.builtin.file) per item would cost a round trip each.
  - An action plugin of the same name runs on the controller first. It reads every O(files[].src)
    there, encodes its bytes in base64 and hands all files and directories to the module on the
    host at once.
  - On the host, the O(directories) are handled first, in the order given, so that the files can
    go into them. A missing directory is created; the mode, owner and group of an existing one
    are set when they differ. Directories are not recursive, the files and subdirectories inside
    them are left as they are.
  - Every file is then compared with what is wanted, by the sha256 of its content and by
    its mode, owner and group. Only what differs is changed, so a second run reports no change and
    files that already match keep their modification time.
  - New content is written to a temporary file in the destination directory, given its final mode,
    owner and group, and then renamed over the destination. A reader therefore sees either the old
    or the new file, and new content is never readable with a broader mode than requested.
  - The O(links) come last, so that a link may point to a file of the same task. Each is a
    symbolic link that is created, or replaced when it points elsewhere. An existing path that is
    not a symbolic link is left as it is with a warning unless O(links[].force=true).
  - Every directory, file and link is checked before anything is changed. An owner or group
    unknown on the host, an undecodable content, a file destination that is not a regular file, a
    directory path that is not a directory, or a missing directory with O(create_dirs=false) fails
    the task without touching anything.
options:
  files:
    description:
      - The files to put on the host, one item per file.
      - Each item needs exactly one of O(files[].src) or O(files[].content).
      - May be empty when O(directories) or O(links) is not; at least one of the three must hold
        an item.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description:
          - Path of the file on the controller whose bytes are copied.
          - Read on the controller by the action plugin, never on the host. A relative path is
            searched like O(ansible.builtin.copy#module:src), that is in the C(files) directory
            of the role or playbook first.
          - A file encrypted with Ansible Vault is decrypted.
          - Mutually exclusive with O(files[].content).
        type: path
      content:
        description:
          - The bytes of the file, base64-encoded, for example C({{ kubeconfig | b64encode }}).
          - Base64 keeps binary data intact and is what the module receives in every case, the
            action plugin only passes it on. Whitespace inside the encoded text is ignored.
          - The value is never logged or returned.
          - Mutually exclusive with O(files[].src).
        type: str
      dest:
        description:
          - Absolute path of the file on the host.
          - An existing destination must be a regular file; a directory or a symbolic link is
            refused.
          - Every item needs its own destination, which must not be one of the O(directories).
        type: path
        required: true
      mode:
        description:
          - Permissions of the file as an octal number, for example V("0600").
          - Quote the value so it stays a string. An unquoted YAML value with a leading zero
            such as V(0600) is read as an octal number by YAML and works as well, but one
            without the leading zero such as V(600) is taken as the decimal number 600.
          - Symbolic modes such as V(u=rw,g=r) are not supported.
        type: raw
        default: "0644"
      owner:
        description:
          - Name of the user owning the file, or a numeric user ID.
          - The user must exist on the host; an unknown name fails the task before anything is
            written.
        type: str
        default: root
      group:
        description:
          - Name of the group owning the file, or a numeric group ID.
          - The group must exist on the host; an unknown name fails the task before anything is
            written.
        type: str
        default: root
      show_diff:
        description:
          - In diff mode, show the real content of this file before and after, as
            M(ansible.builtin.copy) does, instead of only its size and sha256.
          - Meant for configuration files that hold no secret. Leave it V(false), the default,
            for keys, kubeconfigs, tokens and anything else that must not reach the output.
          - When the current or the new content is not UTF-8 text (or contains NUL bytes), the
            entry falls back to the size and sha256.
          - When only the mode, owner or group of the file change, the entry describes the file
            as usual, since its content is the same on both sides.
          - Has no effect without diff mode. In diff mode the shown content is part of the task
            result (its C(diff)), and so of a registered variable.
        type: bool
        default: false
  directories:
    description:
      - Directories to ensure on the host, one item per directory, handled in the order given and
        before any file.
      - A missing directory is created with its O(directories[].mode), O(directories[].owner) and
        O(directories[].group); for an existing one these are set when they differ. Nothing
        inside the directory is changed.
      - The parent of each directory must exist, or be listed earlier in O(directories). A missing
        parent that is not listed is created with O(dir_mode) when O(create_dirs=true), and fails
        the task before anything is changed when O(create_dirs=false). A parent that is listed
        only further down the list fails the task before anything is changed; list parents first.
      - An existing path that is not a directory, including a symbolic link to a directory, fails
        the task before anything is changed.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description:
          - Absolute path of the directory on the host.
          - Every item needs its own path.
        type: path
        required: true
      mode:
        description:
          - Permissions of the directory as an octal number, for example V("0750").
          - Quote it as for O(files[].mode).
        type: raw
        default: "0755"
      owner:
        description:
          - Name of the user owning the directory, or a numeric user ID.
          - The user must exist on the host; an unknown name fails the task before anything is
            changed.
        type: str
        default: root
      group:
        description:
          - Name of the group owning the directory, or a numeric group ID.
          - The group must exist on the host; an unknown name fails the task before anything is
            changed.
        type: str
        default: root
  links:
    description:
      - Symbolic links to ensure on the host, one item per link, handled after O(directories) and
        O(files), in the order given.
      - A missing link is created. A symbolic link that points elsewhere is replaced atomically, by
        a new link renamed over it. A link that already points to O(links[].src) is left as it is.
      - An existing path that is not a symbolic link is never replaced unasked. Without
        O(links[].force) it is left as it is, reported with RV(links[].refused=true) and a
        warning, and the task goes on; it does not fail. With O(links[].force=true) a regular file
        (or another kind of file that is not a directory) is replaced by the link.
      - A directory is never replaced, with or without O(links[].force). It is refused the same
        way, since replacing it would delete everything inside.
      - Missing parent directories are handled as for O(files), see O(create_dirs).
      - Links belong to the user the module runs as; Linux ignores the mode of a symbolic link.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description:
          - Absolute path of the link on the host.
          - Every item needs its own path, which must not be one of the O(files) or O(directories).
        type: path
        required: true
      src:
        description:
          - What the link points to, stored as given. An absolute path, or a path relative to the
            directory of the link.
          - Compared as given with what an existing link points to, so V(/usr/lib/cni/bridge) and
            V(/usr/lib/cni//bridge) differ.
          - Need not exist; a link to a missing file is created as asked.
        type: str
        required: true
      force:
        description:
          - Replace an existing regular file (or other file that is neither a symbolic link nor a
            directory) at O(links[].path) by the link.
          - When V(false), such a file is left as it is and reported with a warning.
        type: bool
        default: false
  create_dirs:
    description:
      - Create missing parent directories of each O(files[].dest), O(directories[].path) and
        O(links[].path) that are not themselves listed in O(directories), with mode O(dir_mode)
        and owned by the user the module runs as.
      - Directories that already exist are left as they are.
      - When V(false), a missing parent directory fails the task before anything is written.
    type: bool
    default: true
  dir_mode:
    description:
      - Permissions of the directories created because of O(create_dirs), as an octal number.
      - Quote it as for O(files[].mode).
      - Does not apply to O(directories), which have their own O(directories[].mode).
    type: raw
    default: "0755"
attributes:
  action:
    description: An action plugin reads the sources on the controller and runs the module once.
    support: full
  check_mode:
    description: >-
      Reports which directories, files and links would be created or changed and why, and
      changes nothing.
    support: full
  diff_mode:
    description:
      - Shows one entry per changed directory with its state, mode, owner and group before and
        after; the before side of a directory to be created only says that it is absent.
      - Shows one entry per changed file with its size, sha256, mode, owner and group before and
        after. The content itself is not shown, because the files are typically private keys.
      - For a file with O(files[].show_diff=true) whose content changes, the entry shows the real
        text content before and after instead (empty before when the file is new), with the
        mode, owner and group in the headers.
      - Shows one entry per changed link, with what was at the path before (absent, a link and
        its target, or the kind of file O(links[].force) replaces) and the link after.
    support: full
  platform:
    description: Any POSIX host with a Python interpreter.
    platforms: posix
    support: full
notes:
  - One task call ensures every directory and puts every file and link of a host in place,
    whatever the number of items. This is the point of the module compared to loops over
    M(ansible.builtin.file) and M(ansible.builtin.copy).
  - The contents travel inside the module arguments. They are marked C(no_log), so they are masked
    in the logs and in the task result, and the action plugin removes them from the reported
    invocation. Neither the result nor the diff holds a file's content, except the diff of a file
    with O(files[].show_diff=true).
  - With E(ANSIBLE_DEBUG) set, ansible-core itself prints the arguments of every module it runs,
    and so the encoded contents. Do not enable it against real secrets.
  - All contents of one call are held in memory on the controller and on the host. The module is
    meant for small files such as certificates and configuration files, not for large data.
  - Needs root (C(become)) to write files or set directories owned by another user or group than
    the one it runs as.
  - Files are written as a whole. Files, directories and links on the host that are not listed
    are never removed.
seealso:
  - module: ansible.builtin.copy
    description: Copies one file per task and supports directories and remote sources.
  - module: ansible.builtin.file
    description: Manages attributes, recursive directories and links without content.
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Put the certificates and keys of a control-plane node in place
  prodgrade.kubernetes.file_bundle:
    files:
      - src: "{{ pki_store }}/ca.crt"
        dest: /etc/kubernetes/pki/ca.crt
      - src: "{{ pki_store }}/{{ inventory_hostname }}/apiserver.key"
        dest: /etc/kubernetes/pki/apiserver.key
        mode: "0600"
      - src: "{{ pki_store }}/{{ inventory_hostname }}/admin.conf"
        dest: /etc/kubernetes/admin.conf
        mode: "0600"
    dir_mode: "0700"
  become: true

- name: Write a generated kubeconfig next to files from the store
  prodgrade.kubernetes.file_bundle:
    files:
      - content: "{{ lookup('ansible.builtin.template', 'kubelet.conf.j2') | b64encode }}"
        dest: /etc/kubernetes/kubelet.conf
        mode: "0600"
      - src: files/etcd-ca.crt
        dest: /etc/kubernetes/pki/etcd/ca.crt
        owner: etcd
        group: etcd
  become: true
  register: bundle

- name: Restart the kubelet only when its kubeconfig changed
  ansible.builtin.systemd_service:
    name: kubelet
    state: restarted
  become: true
  when: >-
    bundle.files | selectattr('dest', 'equalto', '/etc/kubernetes/kubelet.conf')
    | selectattr('changed') | list | length > 0

# One call for all directories and files of a role. The directories come first, so the files
# can go into them. With --diff, etcd.conf.yml shows its content; the key only its sha256.
- name: Put the etcd configuration directory, data directory and files in place
  prodgrade.kubernetes.file_bundle:
    directories:
      - path: /etc/etcd
        mode: "0750"
        owner: root
        group: etcd
      - path: /var/lib/etcd
        mode: "0700"
        owner: etcd
        group: etcd
    files:
      - content: "{{ lookup('ansible.builtin.template', 'etcd.conf.yml.j2') | b64encode }}"
        dest: /etc/etcd/etcd.conf.yml
        mode: "0640"
        group: etcd
        show_diff: true
      - src: "{{ pki_store }}/{{ inventory_hostname }}/etcd-server.key"
        dest: /etc/etcd/server.key
        mode: "0600"
        owner: etcd
        group: etcd
  become: true
  register: etcd_files

- name: Ensure directories only
  prodgrade.kubernetes.file_bundle:
    directories:
      - path: /etc/kubernetes/manifests
        mode: "0700"
  become: true

# Links only. A plugin someone put into /opt/cni/bin as a real file is kept, with a warning;
# force replaces such a file.
- name: Link packaged CNI plugins into the runtime's plugin directory
  prodgrade.kubernetes.file_bundle:
    links:
      - path: /opt/cni/bin/bridge
        src: /usr/lib/cni/bridge
      - path: /opt/cni/bin/portmap
        src: /usr/lib/cni/portmap
        force: true
  become: true
  register: cni_links

- name: Show the links that were left alone
  ansible.builtin.debug:
    msg: "{{ cni_links.links | selectattr('refused') | map(attribute='path') | list }}"
"""

RETURN = r"""
files:
  description:
    - One entry per item of O(files), in the same order. File contents are never included.
  returned: success
  type: list
  elements: dict
  contains:
    dest:
      description: Path of the file on the host.
      type: str
      sample: /etc/kubernetes/pki/apiserver.key
    changed:
      description: Whether the file was (or, in check mode, would be) created or changed.
      type: bool
      sample: true
    reasons:
      description:
        - What differed, empty when the file already matched.
        - V(created) for a new file, V(content) for new content, and C(mode OLD->NEW),
          C(owner OLD->NEW) or C(group OLD->NEW) for attributes of an existing file.
      type: list
      elements: str
      sample:
        - content
        - mode 0644->0600
directories:
  description:
    - One entry per item of O(directories), in the same order.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Path of the directory on the host.
      type: str
      sample: /var/lib/etcd
    changed:
      description: Whether the directory was (or, in check mode, would be) created or changed.
      type: bool
      sample: true
    reasons:
      description:
        - What differed, empty when the directory already matched.
        - V(created) for a new directory, and C(mode OLD->NEW), C(owner OLD->NEW) or
          C(group OLD->NEW) for attributes of an existing one.
      type: list
      elements: str
      sample:
        - mode 0755->0700
        - owner root->etcd
links:
  description:
    - One entry per item of O(links), in the same order.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Path of the link on the host.
      type: str
      sample: /opt/cni/bin/bridge
    src:
      description: What the link points to (or, when refused, would point to).
      type: str
      sample: /usr/lib/cni/bridge
    changed:
      description: Whether the link was (or, in check mode, would be) created or replaced.
      type: bool
      sample: true
    reasons:
      description:
        - What differed, empty when the link already matched or was refused.
        - V(created) for a new link, C(target OLD->NEW) for a link that pointed elsewhere, and
          C(replaced KIND) for a file that O(links[].force=true) replaced, for example
          V(replaced regular file).
      type: list
      elements: str
      sample:
        - target /opt/cni/old/bridge->/usr/lib/cni/bridge
    refused:
      description:
        - Whether something that is not a symbolic link is at the path and was left as it is, a
          directory, or another file without O(links[].force=true). A warning names it.
      type: bool
      sample: false
created_dirs:
  description:
    - Parent directories that were (or, in check mode, would be) created because of
      O(create_dirs), parents first. Items of O(directories) are reported in RV(directories)
      instead.
  returned: success
  type: list
  elements: str
  sample:
    - /etc/kubernetes/pki
    - /etc/kubernetes/pki/etcd
"""

import base64  # noqa: E402
import binascii  # noqa: E402
import grp  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import stat  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

MAX_MODE = 0o7777
_OCTAL = re.compile(r"^(?:0o)?([0-7]{1,5})$")


class BundleError(Exception):
    """A problem with one item, found before anything was written."""


def parse_mode(value, what):
    """Turn an octal string or an integer into a permission number."""
    if isinstance(value, bool) or value is None:
        raise BundleError(f"{what} must be an octal number such as '0644', not {value!r}")
    if isinstance(value, int):
        mode = value
    else:
        match = _OCTAL.match(str(value).strip())
        if not match:
            raise BundleError(
                f"{what} {value!r} is not an octal number such as '0644' "
                "(symbolic modes are not supported)"
            )
        mode = int(match.group(1), 8)
    if not 0 <= mode <= MAX_MODE:
        raise BundleError(f"{what} {value!r} is out of range (0000 to 7777 octal)")
    return mode


def format_mode(mode):
    return f"{mode:04o}"


def resolve_user(name):
    """uid of a user name or numeric ID; None when the name is unknown."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return int(name) if name.isdigit() else None


def resolve_group(name):
    """gid of a group name or numeric ID; None when the name is unknown."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return int(name) if name.isdigit() else None


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def is_root():
    return os.geteuid() == 0


def may_use_group(gid):
    """Whether a non-root process can give a file this group."""
    return gid == os.getegid() or gid in os.getgroups()


def decode_content(content, dest):
    text = "".join(content.split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(
            f"the content for {dest} is not valid base64 (encode it, for example with the "
            "b64encode filter)"
        ) from None


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def check_ownership_without_root(path, item, uid, gid, creates, st):
    """Refuse, before anything is changed, an owner or group only root could give."""
    if is_root():
        return
    needs_uid = creates or (st is not None and st.st_uid != uid)
    if needs_uid and uid != os.geteuid():
        raise BundleError(
            f"{path} must be owned by {item['owner']!r}, which needs root: use become"
        )
    needs_gid = creates or (st is not None and st.st_gid != gid)
    if needs_gid and not may_use_group(gid):
        raise BundleError(
            f"{path} must belong to group {item['group']!r}, which needs root: use become"
        )


def resolve_owner_and_group(item, path):
    uid = resolve_user(item["owner"])
    if uid is None:
        raise BundleError(
            f"the owner of {path}, user {item['owner']!r}, does not exist on this host"
        )
    gid = resolve_group(item["group"])
    if gid is None:
        raise BundleError(
            f"the group of {path}, group {item['group']!r}, does not exist on this host"
        )
    return uid, gid


def attribute_reasons(current, mode, uid, gid, item):
    reasons = []
    if current["mode"] != mode:
        reasons.append(f"mode {format_mode(current['mode'])}->{format_mode(mode)}")
    if current["uid"] != uid:
        reasons.append(f"owner {user_name(current['uid'])}->{item['owner']}")
    if current["gid"] != gid:
        reasons.append(f"group {group_name(current['gid'])}->{item['group']}")
    return reasons


class Planner:
    """Checks the items in the order they are applied and works out what has to change.

    Keeps track of the directories that will exist by the time an item is applied: the items of
    ``directories`` handled so far and the parents created for earlier items.
    """

    def __init__(self, create_dirs, listed):
        self.create_dirs = create_dirs
        self.listed = set(listed)  # every path of ``directories``
        self.planned = set()  # directories that exist (or will) when the next item is applied
        self.seen_dirs = set()
        self.seen_files = set()
        self.seen_links = set()

    @staticmethod
    def lstat_or_none(path):
        """os.lstat(path), or None when nothing is there (missing_parents() explains a parent
        that is not a directory)."""
        try:
            return os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise BundleError(f"cannot inspect {path}: {to_native(exc)}") from None

    def missing_parents(self, path):
        """Directories to create with dir_mode for ``path``, parents first."""
        missing = []
        parent = os.path.dirname(path)
        while parent not in self.planned and not os.path.lexists(parent):
            if parent in self.listed:
                raise BundleError(
                    f"cannot create {path}: its parent {parent} is listed later in directories; "
                    "list parent directories first"
                )
            if parent in self.seen_files:
                raise BundleError(
                    f"cannot create {path}: its parent {parent} is a file of this task"
                )
            if parent in self.seen_links:
                raise BundleError(
                    f"cannot create {path}: its parent {parent} is a link of this task"
                )
            missing.append(parent)
            parent = os.path.dirname(parent)
        if parent not in self.planned and not os.path.isdir(parent):
            raise BundleError(f"cannot create {path}: {parent} exists but is not a directory")
        if missing and not self.create_dirs:
            raise BundleError(
                f"cannot create {path}: the directory {missing[-1]} does not exist "
                "and create_dirs is false"
            )
        self.planned.update(missing)
        return missing[::-1]

    def plan_directory(self, item):
        """Check one item of ``directories``. Raises BundleError."""
        path = item["path"]
        if not os.path.isabs(path):
            raise BundleError(f"directory path {path!r} is not an absolute path")
        path = os.path.normpath(path)
        if path in self.seen_dirs:
            raise BundleError(f"the directory {path} is listed more than once")
        self.seen_dirs.add(path)
        self.planned.add(path)

        mode = parse_mode(item["mode"], f"the mode of {path}")
        uid, gid = resolve_owner_and_group(item, path)
        plan = dict(
            path=path,
            mode=mode,
            uid=uid,
            gid=gid,
            owner=item["owner"],
            group=item["group"],
            current=None,
            reasons=[],
            create=False,
            dirs=[],
        )
        st = self.lstat_or_none(path)

        if st is None:
            plan["dirs"] = self.missing_parents(path)
            plan["reasons"].append("created")
            plan["create"] = True
        else:
            if stat.S_ISLNK(st.st_mode):
                raise BundleError(
                    f"{path} is a symbolic link; file_bundle only manages real directories, "
                    "remove the link or give the path it points to"
                )
            if not stat.S_ISDIR(st.st_mode):
                raise BundleError(f"{path} exists but is not a directory")
            current = dict(mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)
            plan["current"] = current
            plan["reasons"].extend(attribute_reasons(current, mode, uid, gid, item))

        if plan["reasons"]:
            check_ownership_without_root(path, item, uid, gid, plan["create"], st)
        return plan

    def plan_file(self, item):
        """Check one item of ``files``. Raises BundleError."""
        dest = item["dest"]
        if item.get("content") is None:
            if item.get("src") is not None:
                raise BundleError(
                    f"the item for {dest} has src but no content: src is read on the controller "
                    "by the action plugin, the module itself needs the base64-encoded content"
                )
            raise BundleError(f"the item for {dest} needs either src or content")
        if item.get("src") is not None:
            raise BundleError(f"the item for {dest} has both src and content; give only one")
        if not os.path.isabs(dest):
            raise BundleError(f"dest {dest!r} is not an absolute path")
        if dest.endswith("/"):
            raise BundleError(f"dest {dest!r} names a directory, not a file")
        dest = os.path.normpath(dest)
        if dest in self.seen_files:
            raise BundleError(f"{dest} is listed more than once")
        self.seen_files.add(dest)
        if dest in self.listed:
            raise BundleError(f"{dest} is listed both in directories and in files")
        if dest in self.planned:
            raise BundleError(
                f"{dest} is a directory this task creates for another item, not a file"
            )

        data = decode_content(item["content"], dest)
        mode = parse_mode(item["mode"], f"the mode of {dest}")
        uid, gid = resolve_owner_and_group(item, dest)

        plan = dict(
            dest=dest,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            mode=mode,
            uid=uid,
            gid=gid,
            owner=item["owner"],
            group=item["group"],
            show_diff=bool(item.get("show_diff")),
            current=None,
            reasons=[],
            write=False,
            dirs=[],
        )
        st = self.lstat_or_none(dest)

        if st is None:
            plan["dirs"] = self.missing_parents(dest)
            plan["reasons"].append("created")
            plan["write"] = True
        else:
            if stat.S_ISLNK(st.st_mode):
                raise BundleError(
                    f"{dest} is a symbolic link; file_bundle only writes regular files, "
                    "remove the link or give the path it points to"
                )
            if not stat.S_ISREG(st.st_mode):
                raise BundleError(f"{dest} exists but is not a regular file")
            try:
                current_sha = sha256_of(dest)
            except OSError as exc:
                raise BundleError(f"cannot read {dest}: {to_native(exc)}") from None
            current = dict(
                size=st.st_size,
                sha256=current_sha,
                mode=stat.S_IMODE(st.st_mode),
                uid=st.st_uid,
                gid=st.st_gid,
            )
            plan["current"] = current
            if current_sha != plan["sha256"]:
                plan["reasons"].append("content")
                plan["write"] = True
            plan["reasons"].extend(attribute_reasons(current, mode, uid, gid, item))

        if plan["reasons"]:
            check_ownership_without_root(dest, item, uid, gid, plan["write"], st)
        return plan

    def plan_link(self, item):
        """Check one item of ``links``. Raises BundleError."""
        path = item["path"]
        src = item["src"]
        if not os.path.isabs(path):
            raise BundleError(f"link path {path!r} is not an absolute path")
        if path.endswith("/"):
            raise BundleError(f"link path {path!r} ends with a slash")
        path = os.path.normpath(path)
        if not src:
            raise BundleError(f"the link {path} needs a src to point to")
        if path in self.seen_links:
            raise BundleError(f"the link {path} is listed more than once")
        self.seen_links.add(path)
        if path in self.listed:
            raise BundleError(f"{path} is listed both in directories and in links")
        if path in self.seen_files:
            raise BundleError(f"{path} is listed both in files and in links")
        if path in self.planned:
            raise BundleError(
                f"{path} is a directory this task creates for another item, not a link"
            )

        plan = dict(
            path=path,
            src=src,
            current=None,  # what is at the path: None, ("link", target) or (kind, None)
            reasons=[],
            refused=None,  # the warning, when the path is left as it is
            dirs=[],
        )
        st = self.lstat_or_none(path)

        if st is None:
            plan["dirs"] = self.missing_parents(path)
            plan["reasons"].append("created")
        elif stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(path)
            except OSError as exc:
                raise BundleError(f"cannot read the link {path}: {to_native(exc)}") from None
            plan["current"] = ("link", target)
            if target != src:
                plan["reasons"].append(f"target {target}->{src}")
        else:
            kind = file_kind(st.st_mode)
            plan["current"] = (kind, None)
            if stat.S_ISDIR(st.st_mode):
                plan["refused"] = (
                    f"{path} is a directory, not a symbolic link: left as it is (a link never "
                    f"replaces a directory); remove it to get the link to {src}"
                )
            elif not item.get("force"):
                plan["refused"] = (
                    f"{path} is a {kind}, not a symbolic link: left as it is; remove it (or set "
                    f"force on the link) to get the link to {src}"
                )
            else:
                plan["reasons"].append(f"replaced {kind}")
        return plan


def describe(size, sha256, mode, owner, group):
    """The diff text standing for a file; the content itself is never shown."""
    return (
        f"<content not shown: {size} bytes, sha256 {sha256}>\n"
        f"mode: {format_mode(mode)}\n"
        f"owner: {owner}\n"
        f"group: {group}\n"
    )


def as_text(data):
    """``data`` as text for a content diff; None when it is not UTF-8 text."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def content_diff(plan):
    """The diff entry showing the real content (show_diff); None when it cannot be shown."""
    current = plan["current"]
    before = b""
    if current is not None:
        if current["sha256"] == plan["sha256"]:
            return None  # only attributes differ: the description shows them
        try:
            with open(plan["dest"], "rb") as handle:
                before = handle.read()
        except OSError:
            return None
    before_text = as_text(before)
    after_text = as_text(plan["data"])
    if before_text is None or after_text is None:
        return None
    before_header = plan["dest"]
    if current is not None:
        before_header += (
            f" (mode {format_mode(current['mode'])}, owner {user_name(current['uid'])}, "
            f"group {group_name(current['gid'])})"
        )
    after_header = (
        f"{plan['dest']} (mode {format_mode(plan['mode'])}, owner {plan['owner']}, "
        f"group {plan['group']})"
    )
    return dict(
        before_header=before_header,
        after_header=after_header,
        before=before_text,
        after=after_text,
    )


def diff_entry(plan):
    if plan["show_diff"]:
        entry = content_diff(plan)
        if entry is not None:
            return entry
    current = plan["current"]
    before = ""
    if current is not None:
        before = describe(
            current["size"],
            current["sha256"],
            current["mode"],
            user_name(current["uid"]),
            group_name(current["gid"]),
        )
    after = describe(len(plan["data"]), plan["sha256"], plan["mode"], plan["owner"], plan["group"])
    return dict(before_header=plan["dest"], after_header=plan["dest"], before=before, after=after)


def file_kind(mode):
    """A word for what ``mode`` (from lstat) is, for messages and diffs."""
    for test, kind in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "link"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISCHR, "character device"),
    ):
        if test(mode):
            return kind
    return "special file"


def describe_link_state(current):
    if current is None:
        return "state: absent\n"
    kind, target = current
    if kind == "link":
        return f"state: link\nsrc: {target}\n"
    return f"state: {kind}\n"


def link_diff_entry(plan):
    return dict(
        before_header=plan["path"],
        after_header=plan["path"],
        before=describe_link_state(plan["current"]),
        after=describe_link_state(("link", plan["src"])),
    )


def describe_directory(mode, owner, group):
    return f"state: directory\nmode: {format_mode(mode)}\nowner: {owner}\ngroup: {group}\n"


def directory_diff_entry(plan):
    current = plan["current"]
    if current is None:
        before = "state: absent\n"
    else:
        before = describe_directory(
            current["mode"], user_name(current["uid"]), group_name(current["gid"])
        )
    after = describe_directory(plan["mode"], plan["owner"], plan["group"])
    return dict(before_header=plan["path"], after_header=plan["path"], before=before, after=after)


def make_dirs(dirs, mode):
    for path in dirs:
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue
        os.chmod(path, mode)  # mkdir applies the umask


def set_attributes(module, path, plan):
    file_args = dict(
        path=path,
        mode=plan["mode"],
        owner=str(plan["uid"]),
        group=str(plan["gid"]),
        secontext=[None, None, None, None],
        attributes=None,
    )
    module.set_fs_attributes_if_different(file_args, False, expand=False)


def apply_directory(module, plan):
    """Create the directory of an item of ``directories`` or fix its attributes."""
    if plan["create"]:
        # Owner only (and never wider than requested) until owner, group and mode are set.
        os.mkdir(plan["path"], 0o700 & plan["mode"])
    set_attributes(module, plan["path"], plan)


def write_content(module, plan):
    """Replace dest atomically by a temp file that already has its final attributes."""
    dest = plan["dest"]
    directory = os.path.dirname(dest)
    context = None
    if module.selinux_enabled():
        if os.path.exists(dest):
            context = module.selinux_context(dest)
        else:
            context = module.selinux_default_context(dest)
    fd, tmp_path = tempfile.mkstemp(prefix=".file_bundle.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if (plan["uid"], plan["gid"]) != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), plan["uid"], plan["gid"])
            os.fchmod(handle.fileno(), plan["mode"])
            handle.write(plan["data"])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, dest)
    finally:
        if os.path.lexists(tmp_path):
            os.unlink(tmp_path)
    if context is not None:
        module.set_context_if_different(dest, context, False)


def apply_plan(module, plan):
    if plan["write"]:
        write_content(module, plan)
    set_attributes(module, plan["dest"], plan)


def apply_link(plan):
    """Put the link in place by renaming a new link over the path: never a moment without one."""
    path = plan["path"]
    directory = os.path.dirname(path)
    while True:
        tmp_path = os.path.join(directory, f".file_bundle.{secrets.token_hex(6)}")
        try:
            os.symlink(plan["src"], tmp_path)
            break
        except FileExistsError:
            continue
    try:
        os.replace(tmp_path, path)
    finally:
        if os.path.lexists(tmp_path):
            os.unlink(tmp_path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    src=dict(type="path"),
                    content=dict(type="str", no_log=True),
                    dest=dict(type="path", required=True),
                    mode=dict(type="raw", default="0644"),
                    owner=dict(type="str", default="root"),
                    group=dict(type="str", default="root"),
                    show_diff=dict(type="bool", default=False),
                ),
            ),
            directories=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    mode=dict(type="raw", default="0755"),
                    owner=dict(type="str", default="root"),
                    group=dict(type="str", default="root"),
                ),
            ),
            links=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    src=dict(type="str", required=True),
                    force=dict(type="bool", default=False),
                ),
            ),
            create_dirs=dict(type="bool", default=True),
            dir_mode=dict(type="raw", default="0755"),
        ),
        supports_check_mode=True,
    )
    file_items = module.params["files"] or []
    dir_items = module.params["directories"] or []
    link_items = module.params["links"] or []
    if not file_items and not dir_items and not link_items:
        module.fail_json(
            msg="file_bundle: nothing to do: give at least one item in files, directories or links"
        )

    errors = []
    try:
        dir_mode = parse_mode(module.params["dir_mode"], "dir_mode")
    except BundleError as exc:
        errors.append(str(exc))
    listed = [os.path.normpath(item["path"]) for item in dir_items if os.path.isabs(item["path"])]
    planner = Planner(module.params["create_dirs"], listed)
    dir_plans = []
    for item in dir_items:
        try:
            dir_plans.append(planner.plan_directory(item))
        except BundleError as exc:
            errors.append(str(exc))
    plans = []
    for item in file_items:
        try:
            plans.append(planner.plan_file(item))
        except BundleError as exc:
            errors.append(str(exc))
    link_plans = []
    for item in link_items:
        try:
            link_plans.append(planner.plan_link(item))
        except BundleError as exc:
            errors.append(str(exc))
    if errors:
        module.fail_json(
            msg="file_bundle: nothing was written: " + "; ".join(errors),
            errors=errors,
        )

    created_dirs = []
    for plan in dir_plans + plans + link_plans:
        for path in plan["dirs"]:
            if path not in created_dirs:
                created_dirs.append(path)

    directories = [
        dict(path=plan["path"], changed=bool(plan["reasons"]), reasons=list(plan["reasons"]))
        for plan in dir_plans
    ]
    files = [
        dict(dest=plan["dest"], changed=bool(plan["reasons"]), reasons=list(plan["reasons"]))
        for plan in plans
    ]
    links = [
        dict(
            path=plan["path"],
            src=plan["src"],
            changed=bool(plan["reasons"]),
            reasons=list(plan["reasons"]),
            refused=plan["refused"] is not None,
        )
        for plan in link_plans
    ]
    for plan in link_plans:
        if plan["refused"] is not None:
            module.warn(f"file_bundle: {plan['refused']}")
    result = dict(
        changed=bool(created_dirs)
        or any(entry["changed"] for entry in directories + files + links),
        files=files,
        directories=directories,
        links=links,
        created_dirs=created_dirs,
    )
    if module._diff:
        result["diff"] = [directory_diff_entry(plan) for plan in dir_plans if plan["reasons"]]
        result["diff"].extend(diff_entry(plan) for plan in plans if plan["reasons"])
        result["diff"].extend(link_diff_entry(plan) for plan in link_plans if plan["reasons"])

    if not module.check_mode:
        done_dirs = []

        def fail(what, exc, dir_count, file_count, link_count=0):
            done = [
                e
                for e in directories[:dir_count] + files[:file_count] + links[:link_count]
                if e["changed"]
            ]
            module.fail_json(
                msg=f"file_bundle: cannot {what}: {to_native(exc)}",
                changed=bool(done or done_dirs),
                directories=directories[:dir_count],
                files=files[:file_count],
                links=links[:link_count],
                created_dirs=done_dirs,
            )

        def make_parents(plan):
            todo = [d for d in plan["dirs"] if d not in done_dirs]
            make_dirs(todo, dir_mode)
            done_dirs.extend(todo)

        for index, plan in enumerate(dir_plans):
            if not plan["reasons"]:
                continue
            try:
                make_parents(plan)
                apply_directory(module, plan)
            except Exception as exc:
                fail(f"set up the directory {plan['path']}", exc, index, 0)
        for index, plan in enumerate(plans):
            if not plan["reasons"]:
                continue
            try:
                make_parents(plan)
                apply_plan(module, plan)
            except Exception as exc:
                fail(f"write {plan['dest']}", exc, len(dir_plans), index)
        for index, plan in enumerate(link_plans):
            if not plan["reasons"]:
                continue
            try:
                make_parents(plan)
                apply_link(plan)
            except Exception as exc:
                fail(f"link {plan['path']}", exc, len(dir_plans), len(plans), index)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
