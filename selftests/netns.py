# SPDX-License-Identifier: GPL-2.0
"""Network namespaces from Python: Python 3.11 has no os.setns.

A socket belongs to the namespace it was made in, whichever the process
is in afterwards: a test reaches several namespaces from one process (no
`ip netns exec python3` each, 250-600 ms of a TCG guest's CPU) by making
each socket in its own.
"""
import ctypes
import os

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd, what):
    """This thread into the network namespace open as @fd."""
    if _libc.setns(fd, CLONE_NEWNET):
        err = ctypes.get_errno()
        raise OSError(err, "setns %s: %s" % (what, os.strerror(err)))


def enter(name):
    """This thread into the namespace `ip netns` calls @name; OSError if
    there is none."""
    fd = os.open(os.path.join("/run/netns", name), os.O_RDONLY)
    try:
        setns(fd, name)
    finally:
        os.close(fd)


def in_netns(name, fn):
    """fn() in the namespace `ip netns` calls @name, then back in this
    thread's own, also when fn raises."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        enter(name)
        try:
            return fn()
        finally:
            setns(own, "back")
    finally:
        os.close(own)
