#!/bin/sh
# kubelet-sync.sh COMPONENT: what the kubelet does when a static pod manifest changes, for the
# stand-in "pod" static-pod-standin@COMPONENT.service. Run by static-pod-standin-watch@.service
# (a oneshot: systemd never runs two syncs of one component at the same time).
#
# The kubelet recreates a static pod when its manifest's content changes (the pod's hash covers
# the annotations too), stops it when the manifest is removed, and leaves it alone otherwise.
# Here any byte change counts. The SHA-256 of the manifest last synced is kept in
# /run/static-pod-standins/ (the kubelet's memory), so a second inotify event for the same change
# (a rename can produce two) or a touch does not recreate the pod again.
set -eu
component=$1
unit="static-pod-standin@$component.service"
manifest="/etc/kubernetes/manifests/$component.yaml"
state="/run/static-pod-standins/$component.sha256"

if [ ! -f "$manifest" ]; then
    rm -f "$state"
    if systemctl -q is-active "$unit"; then
        echo "$manifest is gone: stopping $unit"
        systemctl stop "$unit"
    fi
    exit 0
fi
new=$(sha256sum <"$manifest" | cut -d' ' -f1)
old=$(cat "$state" 2>/dev/null || true)
if [ "$new" = "$old" ] && systemctl -q is-active "$unit"; then
    echo "$manifest unchanged (sha256 $new): $unit keeps running"
    exit 0
fi
mkdir -p "${state%/*}"
echo "$new" >"$state"
echo "$manifest sha256 ${old:-none} -> $new: restarting $unit"
systemctl restart "$unit"
