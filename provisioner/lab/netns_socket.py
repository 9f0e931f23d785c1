"""Listening sockets inside a lab device's network namespace, for one-process simulators.

A simulator serving many devices runs in the host's namespace, but each device's
address exists only inside that device's namespace. The calling thread enters the
namespace, creates and binds the socket there, and returns: a socket keeps the
namespace it was created in, so the process can then serve it from anywhere.
Python 3.11 has no `os.setns`, hence the call through libc.
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NETNS_DIR = Path("/run/netns")  # where `ip netns add` pins namespaces
_CLONE_NEWNET = 0x40000000
_LISTEN_BACKLOG = 64

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def inside_netns(netns: str) -> Iterator[None]:
    """Run the block with the calling thread inside the named network namespace.

    Raises:
        OSError: the namespace does not exist or cannot be entered (needs root).
    """
    # thread-self, not self: setns moves only the calling thread.
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(NETNS_DIR / netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            # If this fails the thread would keep serving from the wrong namespace:
            # let the error end the process rather than continue half-moved.
            _setns(home)
    finally:
        os.close(home)


def tcp_listener(netns: str, address: str, port: int) -> socket.socket:
    """A non-blocking TCP socket listening on address:port inside the namespace.

    Raises:
        OSError: the namespace is missing, or the address is not on any of its interfaces.
    """
    with inside_netns(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(_LISTEN_BACKLOG)
        except OSError:
            sock.close()
            raise
    sock.setblocking(False)
    return sock


def udp_socket(netns: str, address: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to address:port inside the namespace.

    Raises:
        OSError: the namespace is missing, or the address is not on any of its interfaces.
    """
    with inside_netns(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
        except OSError:
            sock.close()
            raise
    sock.setblocking(False)
    return sock
