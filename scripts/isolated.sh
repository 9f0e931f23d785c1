#!/usr/bin/env bash
# Run a command with a lab of its own: private network namespace (own lab bridge and
# device namespaces), private /run/netns and private lab cgroups, so a second lab
# (another developer's test run, a benchmark) can run beside the first on one machine.
#
#   bash scripts/isolated.sh NAME COMMAND [ARGS...]
#
# NAME keeps the cgroups of parallel runs apart. Set PROVISIONER_LAB_DIR (or
# XDG_DATA_HOME) per run too: the lab finds its processes by their lab folder.
# Needs root. Nothing reaches the outside: the namespace has only loopback and the lab.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "error: isolated.sh needs root (network and mount namespaces)" >&2
  exit 6
fi
name=${1:?usage: bash scripts/isolated.sh NAME COMMAND [ARGS...]}
shift
[ $# -gt 0 ] || { echo "usage: bash scripts/isolated.sh NAME COMMAND [ARGS...]" >&2; exit 2; }
# Enter a cgroup of our own first, then a cgroup namespace rooted there: systemd-nspawn
# and the lab see that cgroup as the root (hybrid v1+v2 layouts and pure v2 alike).
cgroups=()
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then cgroups=(/sys/fs/cgroup)
else for h in unified systemd; do [ -e "/sys/fs/cgroup/$h/cgroup.procs" ] && cgroups+=("/sys/fs/cgroup/$h"); done
fi
for root in "${cgroups[@]}"; do
  mkdir -p "$root/pvsandbox-$name"
  echo $$ > "$root/pvsandbox-$name/cgroup.procs"
done
status=0
unshare --net --mount --cgroup --propagation private -- bash -c '
  set -euo pipefail
  name=$1; shift
  mkdir -p /run/netns
  mount -t tmpfs -o mode=755 pv-netns /run/netns
  for root in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
    [ -e "$root/cgroup.procs" ] || continue
    mount --bind "$root/pvsandbox-$name" "$root"
  done
  ip link set lo up
  exec "$@"' isolated "$name" "$@" || status=$?
# Leave the sandbox cgroups and remove them (the lab removed its own below them).
for root in "${cgroups[@]}"; do
  echo $$ > "$root/cgroup.procs" 2>/dev/null || true
  find "$root/pvsandbox-$name" -depth -type d -exec rmdir {} + 2>/dev/null || true
done
exit "$status"
