"""A RabbitMQ broker of the lab's own (Debian's `rabbitmq-server`), for tests and `lab up --nodes`.

It runs from the Debian package's scripts with a data folder, node name, ports and
config of its own, so a broker the machine may run as a system service is left alone:
AMQP over TLS only (a CA the lab makes), on one address (loopback or the lab's WAN
bridge), its own epmd on its own port. It starts with no user but `controller`; each
execution node gets a user of its own that may only read its own job queue and write
its own reply exchange (`provisioner.nodes.topology.node_permissions`).

Secrets: the users' passwords and the Erlang cookie live in `secrets_dir` (0600 files),
never in the broker's data folder, which holds only RabbitMQ's own files (passwords as
salted hashes, queued messages that carry no secret).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import EnvironmentProblemError, LabError
from provisioner.lab import certs
from provisioner.lab.syscmd import run
from provisioner.nodes.topology import CONTROLLER_USER, node_permissions
from provisioner.secrets import write_secret_file

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
# RabbitMQ boots in 15-25 s on an idle machine; beside a lab's hosts booting on two
# busy cores it took longer than 90 s.
_START_TIMEOUT_S = 240.0
_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens: AMQP over TLS on `port`; Erlang distribution on `port`+1
    and its epmd on `port`+2, both on loopback only."""

    host: str = "127.0.0.1"
    port: int = 25671

    @property
    def url(self) -> str:
        """The AMQP URL without a user (`amqps://host:port//`: the default vhost)."""
        return f"amqps://{self.host}:{self.port}//"


class LabBroker:
    """One RabbitMQ node: start, users, stop, restart (keeping its queues).

    Args:
        data_dir: RabbitMQ's files (mnesia, logs, config); made on start.
        secrets_dir: passwords, the Erlang cookie and the TLS keys (0600 files).
        address: where AMQP listens.
    """

    def __init__(self, data_dir: Path, secrets_dir: Path, address: BrokerAddress) -> None:
        self.data_dir = data_dir
        self.secrets_dir = secrets_dir
        self.address = address
        self.node_name = f"pvbroker{address.port}@localhost"
        self._process: int | None = None  # the start script, leader of its session
        self._epmd: int | None = None

    @property
    def ca(self) -> Path:
        """The lab CA's certificate: nodes and the controller verify the broker with it."""
        return self.secrets_dir / "tls" / "ca.pem"

    @property
    def pid(self) -> int | None:
        """The broker's process (its start script), or None when stopped."""
        return self._process

    def pids(self) -> list[int]:
        """The running broker's processes: its start script (leader of the broker's
        process group) and its epmd."""
        return [p for p in (self._process, self._epmd) if p is not None]

    def password_file(self, user: str) -> Path:
        """Where a broker user's password is kept (0600)."""
        return self.secrets_dir / f"broker-{user}.pass"

    def _env(self) -> dict[str, str]:
        home = self.secrets_dir / "erlang"
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(home), "LANG": "C.UTF-8",
            "RABBITMQ_CONF_ENV_FILE": str(self.data_dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.data_dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.data_dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.data_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.data_dir / "log"),
            "RABBITMQ_PID_FILE": str(self.data_dir / "rabbitmq.pid"),
            "RABBITMQ_NODENAME": self.node_name,
            "RABBITMQ_DIST_PORT": str(self.address.port + 1),
            "ERL_EPMD_PORT": str(self.address.port + 2),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def _write_config(self) -> None:
        tls = self.secrets_dir / "tls"
        if not self.ca.exists():
            ca = certs.make_ca(tls)
            certs.issue(ca, "broker", (self.address.host, "127.0.0.1"), tls, server=True)
        for sub in ("mnesia", "log"):
            (self.data_dir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.secrets_dir / "erlang").mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.data_dir / "rabbitmq-env.conf").write_text("")
        (self.data_dir / "enabled_plugins").write_text("[].\n")
        (self.data_dir / "rabbitmq.conf").write_text("\n".join([
            "listeners.tcp = none",
            f"listeners.ssl.1 = {self.address.host}:{self.address.port}",
            f"ssl_options.cacertfile = {self.ca}",
            f"ssl_options.certfile = {tls / 'broker.pem'}",
            f"ssl_options.keyfile = {tls / 'broker.key'}",
            "ssl_options.verify = verify_none",
            "ssl_options.fail_if_no_peer_cert = false",
            "log.console = false",
            "log.file.level = warning",
            # Tests stop and start the broker at will: no free-disk alarm on a busy /tmp.
            "disk_free_limit.absolute = 1MB",
        ]) + "\n")

    def start(self) -> None:
        """Start the broker (first start: config, CA, users) and wait until it serves.

        Raises:
            EnvironmentProblemError: rabbitmq-server is not installed.
            LabError: it did not come up in time (its log is named).
        """
        if not (RABBITMQ_BIN / "rabbitmq-server").exists():
            raise EnvironmentProblemError("rabbitmq-server is not installed; "
                                          "apt-get install rabbitmq-server")
        first = not (self.data_dir / "mnesia").exists()
        self._write_config()
        env = self._env()
        log = self.data_dir / "log" / "server.out"
        self._epmd = spawn_detached(["epmd", "-port", env["ERL_EPMD_PORT"], "-address",
                                     "127.0.0.1"], env, log)
        self._process = spawn_detached([str(RABBITMQ_BIN / "rabbitmq-server")], env, log)
        self._wait_ready()
        if first:
            self._first_users()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and not _running(self._process):
                break
            with contextlib.suppress(OSError), socket.create_connection(
                    (self.address.host, self.address.port), timeout=1):
                self.ctl("await_startup", "--timeout", "60")
                return
            time.sleep(0.5)
        self.stop()
        raise LabError(f"the lab's RabbitMQ did not start in {_START_TIMEOUT_S:.0f} s "
                       f"({self._last_log_line() or 'no log line'}); see {self.data_dir / 'log'}")

    def _last_log_line(self) -> str:
        lines: list[str] = []
        for path in sorted((self.data_dir / "log").glob("*")):
            with contextlib.suppress(OSError):
                lines += [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
        return lines[-1][:300] if lines else ""

    def ctl(self, *args: str, input_text: str | None = None) -> str:
        """Run `rabbitmqctl` against this broker; its output.

        Raises:
            LabError: rabbitmqctl failed.
        """
        return run([str(RABBITMQ_BIN / "rabbitmqctl"), "-q", "-n", self.node_name, *args],
                   step=f"rabbitmqctl {args[0]}", input_text=input_text, env=self._env())

    def _first_users(self) -> None:
        self.ctl("delete_user", "guest")
        self.add_user(CONTROLLER_USER, (".*", ".*", ".*"))

    def add_user(self, user: str, permissions: tuple[str, str, str]) -> Path:
        """Create (or reset) a broker user with a new random password; its password file.

        Args:
            user: the user name (an execution node's name, or `controller`).
            permissions: (configure, write, read) regular expressions on the default vhost.
        """
        password = secrets.token_urlsafe(24)
        path = self.password_file(user)
        write_secret_file(path, password + "\n")
        with contextlib.suppress(LabError):
            self.ctl("delete_user", user)
        # Given on stdin: never on a command line another process could read.
        self.ctl("add_user", user, input_text=password + "\n")
        self.ctl("set_permissions", "-p", "/", user, *permissions)
        return path

    def add_node(self, name: str) -> Path:
        """A broker user for execution node `name`, limited to its own queue; its
        password file."""
        return self.add_user(name, node_permissions(name))

    def stop(self) -> None:
        """Stop the broker and its epmd (queues and users stay in the data folder)."""
        for pid in (self._process, self._epmd):
            if pid is not None:
                stop_group(pid)
        self._process = self._epmd = None

    def remove(self) -> None:
        """Stop the broker and delete its data folder."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def spawn_detached(argv: list[str], env: dict[str, str], log: Path) -> int:
    """Start a process in a session of its own, output appended to `log`; its pid.

    posix_spawn rather than Popen: the lab's broker and nodes outlive `lab up`, and a
    forgotten Popen object warns about its still-running child.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    path = shutil.which(argv[0], path=env.get("PATH")) or argv[0]
    try:
        return os.posix_spawn(path, argv, env, file_actions=actions, setsid=True)
    except OSError as exc:
        raise LabError(f"cannot start {argv[0]} ({exc.strerror})") from exc


def _running(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stop_group(pid: int, wait_s: float = _STOP_TIMEOUT_S) -> None:
    """SIGTERM a process group (its leader `pid`), SIGKILL it after `wait_s`; reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    end = time.monotonic() + wait_s
    while _running(pid) and time.monotonic() < end:
        time.sleep(0.2)
    if _running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _running(pid) and time.monotonic() < end + 5:
            time.sleep(0.1)
