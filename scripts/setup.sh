#!/usr/bin/env bash
# Set up provisioner on a fresh Debian 12 machine and run the demo or the whole test suite.
#
#   bash scripts/setup.sh demo    # install, build the lab, run the main job on it
#   bash scripts/setup.sh test    # install, then lint, type-check and run every test
#   bash scripts/setup.sh install # install only
#
# Installs what it needs itself: Debian packages (apt-get), a virtualenv in .venv,
# and the Python packages (pip). Needs root for apt-get and for the lab's namespaces.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
mode=${1:-}
case "$mode" in
  demo|test|install) ;;
  *) echo "usage: bash scripts/setup.sh demo|test|install" >&2; exit 2 ;;
esac

APT_PACKAGES=(
  python3 python3-venv python3-dev build-essential  # the venv (some wheels may build)
  debootstrap systemd-container zstd                # the lab's Debian hosts
  iproute2 util-linux mount                         # namespaces, veth, overlay mounts
  dpkg-dev                                          # the lab's local package repository
  openssh-client                                    # ssh, ssh-keygen
  snmp snmpd                                        # net-snmp CLI tools and agent (diagnostics, tests, bench)
  rabbitmq-server                                   # the execution nodes' broker (tests start their own)
  fonts-dejavu-core                                 # the report's font (Typst finds it)
  poppler-utils chromium                            # report tests: PDF pages and HTML as pictures
  git ca-certificates
)

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: setup needs root (apt-get, network namespaces for the lab); run: sudo bash scripts/setup.sh $mode" >&2
    exit 6
  fi
}

install_system_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    case " ${missing[*]} " in
      *" rabbitmq-server "*) stop_system_broker ;;
    esac
  fi
}

# Debian's rabbitmq-server starts a system broker on install where services may start
# (Docker-like machines forbid it through policy-rc.d). The tests and the lab start
# brokers of their own (own data folder, node name and ports); a system broker with its
# default guest user is not wanted on a machine that only just installed it.
stop_system_broker() {
  if command -v invoke-rc.d >/dev/null; then
    invoke-rc.d rabbitmq-server stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
  fi
}

install_python_packages() {
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    /usr/bin/python3 -m venv .venv
  fi
  echo "==> pip install (cached in ~/.cache/pip)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev,lab,nodes]"
  # fake-switches pins Twisted 16, which does not build on Python 3.11: install it
  # without its pins (its real dependencies are in the "lab" extra).
  .venv/bin/python -m pip install -q --no-deps "fake-switches==1.5.0"
}

run_tests() {
  echo "==> ruff"
  .venv/bin/ruff check provisioner tests bench examples playbooks
  echo "==> mypy"
  .venv/bin/mypy provisioner
  if compgen -G "playbooks/*.yml" > /dev/null; then
    echo "==> ansible-lint"
    # With the venv on PATH, as ansible-lint expects of its own Python (it warns of
    # a "broken local setup" and alters PATH itself otherwise).
    (cd playbooks && PATH="$here/.venv/bin:$PATH" ../.venv/bin/ansible-lint --offline -q .)
  fi
  # The tests run without network (below): what the lab is made from is built first,
  # here, into the cache folder the tests then use (PROVISIONER_CACHE_DIR).
  export PROVISIONER_CACHE_DIR="${PROVISIONER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provisioner}"
  echo "==> the lab's base and SNMP data, before the tests lose the network (in $PROVISIONER_CACHE_DIR)"
  .venv/bin/provision lab prepare
  if [ $# -gt 0 ]; then
    echo "==> pytest $* (in namespaces of its own: a lab that is running here is left alone)"
    bash scripts/isolated.sh "test-$$" .venv/bin/pytest -q -p no:cacheprovider "$@"
    return
  fi
  # Two halves side by side, each in a sandbox with a lab of its own: the lab tests
  # wait on daemons, timeouts and Ansible's SSH round trips much of the time, so two
  # share the machine's cores well (docs/benchmarks.md, "Test suite"). Every test runs
  # in exactly one half: the first names its folders, the second ignores them.
  local first=(tests/provision tests/playbooks)
  local ignore=() dir
  for dir in "${first[@]}"; do ignore+=("--ignore=$dir"); done
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/provisioner-tests.XXXXXX")
  echo "==> pytest in two halves side by side, each in namespaces of its own (a lab that is running here is left alone)"
  echo "    half 1: ${first[*]}; half 2: every other test (its output follows half 1's)"
  local one=0 two=0
  bash scripts/isolated.sh "test-$$-2" .venv/bin/pytest -q -p no:cacheprovider --durations=15 \
    "${ignore[@]}" tests >"$log" 2>&1 &
  local second=$!
  bash scripts/isolated.sh "test-$$-1" .venv/bin/pytest -q -p no:cacheprovider --durations=15 \
    "${first[@]}" || one=$?
  wait "$second" || two=$?
  echo "==> half 2 (every other test)"
  cat "$log"
  rm -f "$log"
  echo "==> pytest: half 1 exit $one, half 2 exit $two"
  [ "$one" -eq 0 ] && [ "$two" -eq 0 ]
}

run_demo() {
  export PATH="$here/.venv/bin:$PATH"
  # Where the tool keeps its data (XDG_DATA_HOME, as the tool itself reads it).
  local data="${XDG_DATA_HOME:-$HOME/.local/share}/provisioner"
  local db="${PROVISIONER_DB:-$data/demo.db}"
  mkdir -p "$(dirname "$db")"
  echo "==> the example plan, then the lab: three schools of real daemons (the first build of its base takes ~80 s);"
  echo "    school 100002's switches are HPE Aruba AOS-S, the others' Cisco IOS"
  provision --db "$db" plan import examples/plan-musterstadt.csv
  provision --db "$db" lab up --schools 3 --switch-platform 100002:aruba_aoss
  local inv="$data/lab/inventories"
  provision --db "$db" --inventories "$inv" inventory sync
  provision --db "$db" lab status
  # The SNMP health check of every lab device; 10/11/12 (warnings, critical, devices not
  # read) are findings, not a failed demo: recorded devices report their recording's
  # sysName, for one.
  local health=0
  provision --db "$db" --inventories "$inv" health --prometheus "$HOME/provisioner-health.prom" \
    || health=$?
  case $health in 0|10|11|12) ;; *) exit "$health" ;; esac
  echo "==> the main job: provision lab school 100001 (servers, switches, APs, its WLAN through its controller), then verify it"
  provision --db "$db" --inventories "$inv" school --id 100001 --yes
  # Its SSIDs, as its WLAN controller carries them now (read through the controller's API).
  provision --db "$db" --inventories "$inv" wlan --school 100001
  echo "==> the AOS-S switches of lab school 100002, configured and verified the same way"
  provision --db "$db" --inventories "$inv" school --id 100002 --limit switches --yes
  provision --db "$db" runs --limit 3
  provision --db "$db" schools
  provision --db "$db" school show 100001
  # The committee report of all this: PDF (German), and the same figures as XLSX.
  provision --db "$db" export --format pdf --format xlsx -o "$HOME/provisioner-demo-bericht"
  echo
  # This script's PATH does not outlive it: a new shell needs the venv first.
  echo "The lab keeps running. In a new shell, first: source $here/.venv/bin/activate"
  echo "  Try: provision --db $db --inventories $inv inventory check"
  echo "  Remove it with: provision lab down"
}

need_root
install_system_packages
install_python_packages
case "$mode" in
  test) shift; run_tests "$@" ;;
  demo) run_demo ;;
  install) echo "installed: activate with 'source .venv/bin/activate'" ;;
esac
