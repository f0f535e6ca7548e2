#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_bundle
short_description: Put a set of files, secrets included, on a host in a single task call
version_added: 0.1.0
description:
  - Writes many small files to a host in one call, each with its own mode, owner and group.
    It is meant for certificates, private keys and kubeconfigs kept in a store on the controller,
    where a control-plane host needs some 25 files and one M(ansible.builtin.copy) per file would
    cost a round trip each.
  - An action plugin of the same name runs on the controller first. It reads every O(files[].src)
    there, encodes its bytes in base64 and hands all files to the module on the host at once.
  - On the host, every file is compared with what is wanted, by the sha256 of its content and by
    its mode, owner and group. Only what differs is changed, so a second run reports no change and
    files that already match keep their modification time.
  - New content is written to a temporary file in the destination directory, given its final mode,
    owner and group, and then renamed over the destination. A reader therefore sees either the old
    or the new file, and new content is never readable with a broader mode than requested.
  - Every item is checked before anything is written. An owner or group unknown on the host, an
    undecodable content, a destination that is not a regular file or a missing directory with
    O(create_dirs=false) fails the task without touching any file.
options:
  files:
    description:
      - The files to put on the host, one item per file.
      - Each item needs exactly one of O(files[].src) or O(files[].content).
    type: list
    elements: dict
    required: true
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
          - Every item needs its own destination.
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
          - The user must exist on the host; an unknown name fails the task before any file is
            written.
        type: str
        default: root
      group:
        description:
          - Name of the group owning the file, or a numeric group ID.
          - The group must exist on the host; an unknown name fails the task before any file is
            written.
        type: str
        default: root
  create_dirs:
    description:
      - Create missing parent directories of each O(files[].dest), with mode O(dir_mode) and owned
        by the user the module runs as.
      - Directories that already exist are left as they are.
      - When V(false), a missing parent directory fails the task before any file is written.
    type: bool
    default: true
  dir_mode:
    description:
      - Permissions of the directories created because of O(create_dirs), as an octal number.
      - Quote it as for O(files[].mode).
    type: raw
    default: "0755"
attributes:
  action:
    description: An action plugin reads the sources on the controller and runs the module once.
    support: full
  check_mode:
    description: Reports which files would be created or changed and why, and writes nothing.
    support: full
  diff_mode:
    description:
      - Shows one entry per changed file with its size, sha256, mode, owner and group before and
        after.
      - The content itself is never shown, because the files are typically private keys.
    support: full
  platform:
    description: Any POSIX host with a Python interpreter.
    platforms: posix
    support: full
notes:
  - One task call puts every file of a host in place, whatever the number of files. This is the
    point of the module compared to a loop over M(ansible.builtin.copy).
  - The contents travel inside the module arguments. They are marked C(no_log), so they are masked
    in the logs and in the task result, and the action plugin removes them from the reported
    invocation. Neither the result nor the diff ever holds a file's content.
  - With E(ANSIBLE_DEBUG) set, ansible-core itself prints the arguments of every module it runs,
    and so the encoded contents. Do not enable it against real secrets.
  - All contents of one call are held in memory on the controller and on the host. The module is
    meant for small files such as certificates and configuration files, not for large data.
  - Needs root (C(become)) to write files owned by another user or group than the one it runs as.
  - Files are written as a whole. Files on the host that are not listed are never removed.
seealso:
  - module: ansible.builtin.copy
    description: Copies one file per task and supports directories and remote sources.
  - module: ansible.builtin.file
    description: Manages attributes, directories and links without content.
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
created_dirs:
  description: Directories that were (or, in check mode, would be) created, parents first.
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


def missing_parents(dest, create_dirs):
    """Directories to create for ``dest``, parents first."""
    missing = []
    parent = os.path.dirname(dest)
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise BundleError(f"cannot create {dest}: {parent} exists but is not a directory")
    if missing and not create_dirs:
        raise BundleError(
            f"cannot create {dest}: the directory {missing[-1]} does not exist "
            "and create_dirs is false"
        )
    return missing[::-1]


def plan_item(item, create_dirs, seen):
    """Check one item and work out what has to change. Raises BundleError."""
    dest = item["dest"]
    if item.get("content") is None:
        if item.get("src") is not None:
            raise BundleError(
                f"the item for {dest} has src but no content: src is read on the controller by "
                "the action plugin, the module itself needs the base64-encoded content"
            )
        raise BundleError(f"the item for {dest} needs either src or content")
    if item.get("src") is not None:
        raise BundleError(f"the item for {dest} has both src and content; give only one")
    if not os.path.isabs(dest):
        raise BundleError(f"dest {dest!r} is not an absolute path")
    if dest.endswith("/"):
        raise BundleError(f"dest {dest!r} names a directory, not a file")
    dest = os.path.normpath(dest)
    if dest in seen:
        raise BundleError(f"{dest} is listed more than once")
    seen.add(dest)

    data = decode_content(item["content"], dest)
    mode = parse_mode(item["mode"], f"the mode of {dest}")
    uid = resolve_user(item["owner"])
    if uid is None:
        raise BundleError(
            f"the owner of {dest}, user {item['owner']!r}, does not exist on this host"
        )
    gid = resolve_group(item["group"])
    if gid is None:
        raise BundleError(
            f"the group of {dest}, group {item['group']!r}, does not exist on this host"
        )

    plan = dict(
        dest=dest,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        mode=mode,
        uid=uid,
        gid=gid,
        owner=item["owner"],
        group=item["group"],
        current=None,
        reasons=[],
        write=False,
        dirs=[],
    )
    try:
        st = os.lstat(dest)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # missing_parents() explains a parent that is not a directory
    except OSError as exc:
        raise BundleError(f"cannot inspect {dest}: {to_native(exc)}") from None

    if st is None:
        plan["dirs"] = missing_parents(dest, create_dirs)
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
        if current["mode"] != mode:
            plan["reasons"].append(f"mode {format_mode(current['mode'])}->{format_mode(mode)}")
        if current["uid"] != uid:
            plan["reasons"].append(f"owner {user_name(current['uid'])}->{item['owner']}")
        if current["gid"] != gid:
            plan["reasons"].append(f"group {group_name(current['gid'])}->{item['group']}")

    if plan["reasons"] and not is_root():
        needs_uid = plan["write"] or (st is not None and st.st_uid != uid)
        if needs_uid and uid != os.geteuid():
            raise BundleError(
                f"{dest} must be owned by {item['owner']!r}, which needs root: use become"
            )
        needs_gid = plan["write"] or (st is not None and st.st_gid != gid)
        if needs_gid and not may_use_group(gid):
            raise BundleError(
                f"{dest} must belong to group {item['group']!r}, which needs root: use become"
            )
    return plan


def describe(size, sha256, mode, owner, group):
    """The diff text standing for a file; the content itself is never shown."""
    return (
        f"<content not shown: {size} bytes, sha256 {sha256}>\n"
        f"mode: {format_mode(mode)}\n"
        f"owner: {owner}\n"
        f"group: {group}\n"
    )


def diff_entry(plan):
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


def make_dirs(dirs, mode):
    for path in dirs:
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue
        os.chmod(path, mode)  # mkdir applies the umask


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
    file_args = dict(
        path=plan["dest"],
        mode=plan["mode"],
        owner=str(plan["uid"]),
        group=str(plan["gid"]),
        secontext=[None, None, None, None],
        attributes=None,
    )
    module.set_fs_attributes_if_different(file_args, False, expand=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    src=dict(type="path"),
                    content=dict(type="str", no_log=True),
                    dest=dict(type="path", required=True),
                    mode=dict(type="raw", default="0644"),
                    owner=dict(type="str", default="root"),
                    group=dict(type="str", default="root"),
                ),
            ),
            create_dirs=dict(type="bool", default=True),
            dir_mode=dict(type="raw", default="0755"),
        ),
        supports_check_mode=True,
    )
    create_dirs = module.params["create_dirs"]

    errors = []
    try:
        dir_mode = parse_mode(module.params["dir_mode"], "dir_mode")
    except BundleError as exc:
        errors.append(str(exc))
    plans = []
    seen = set()
    for item in module.params["files"]:
        try:
            plans.append(plan_item(item, create_dirs, seen))
        except BundleError as exc:
            errors.append(str(exc))
    if errors:
        module.fail_json(
            msg="file_bundle: nothing was written: " + "; ".join(errors),
            errors=errors,
        )

    created_dirs = []
    for plan in plans:
        for path in plan["dirs"]:
            if path not in created_dirs:
                created_dirs.append(path)

    files = [
        dict(dest=plan["dest"], changed=bool(plan["reasons"]), reasons=list(plan["reasons"]))
        for plan in plans
    ]
    result = dict(
        changed=bool(created_dirs) or any(entry["changed"] for entry in files),
        files=files,
        created_dirs=created_dirs,
    )
    if module._diff:
        result["diff"] = [diff_entry(plan) for plan in plans if plan["reasons"]]

    if not module.check_mode:
        done_dirs = []
        for index, plan in enumerate(plans):
            if not plan["reasons"]:
                continue
            try:
                make_dirs([d for d in plan["dirs"] if d not in done_dirs], dir_mode)
                done_dirs.extend(d for d in plan["dirs"] if d not in done_dirs)
                apply_plan(module, plan)
            except Exception as exc:
                done = [entry for entry in files[:index] if entry["changed"]]
                module.fail_json(
                    msg=f"file_bundle: cannot write {plan['dest']}: {to_native(exc)}",
                    changed=bool(done or done_dirs),
                    files=files[:index],
                    created_dirs=done_dirs,
                )

    module.exit_json(**result)


if __name__ == "__main__":
    main()
