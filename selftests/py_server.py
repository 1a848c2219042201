#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The Python of one test's one-liners, started once (lib.sh's py).

Under TCG a Python start costs 250 to 600 ms of guest CPU, and the tests
ran hundreds of one-liners (`esptun show --json | python3 -c ...`): this
process runs them instead, as `python3 -S -c CODE ARGS...` would, with the
caller's standard input, output and error.

  py_server.py DIR   serve the requests written to the FIFO DIR/req,
                     answer on DIR/rep; exit when the test's shell and
                     its children have closed DIR/req

A request: the caller's PID, the caller's descriptors that are the
code's stdin, stdout and stderr, a network namespace's name (empty for
the test's own), "c" (code) or "f" (a file), the number of arguments,
the code or file and the arguments, each ended by a NUL byte, written in
one write (under PIPE_BUF, so that requests never interleave).  Code
runs with sys.argv = ["-c", ARGS...], as `python3 -S -c CODE ARGS`; a
file as `python3 FILE ARGS` (site-packages added on the first); the
standard streams are opened from /proc/PID/fd/; the answer is "PID
STATUS\\n", STATUS what python3 would have exited with.

A namespace named is entered with setns(2) for the call (lib.sh's py -n,
where `ip netns exec NS python3` would be): its network only, not the
/sys that ip netns exec remounts, and the environment is the one this
server started with.  Sockets made there stay there, as the tests'
scripts expect (espfuzz.py's in_netns).
"""
import gc
import io
import os
import runpy
import sys
import traceback

from netns import enter, setns


class LazyIn(io.TextIOBase):
    """The caller's standard input, opened on first use: most code never
    reads it, and a caller's stdin can be a terminal."""

    def __init__(self, path):
        super().__init__()
        self._path = path
        self._f = None

    def _file(self):
        if self._f is None:
            self._f = open(self._path)
        return self._f

    def read(self, size=-1):
        return self._file().read(size)

    def readline(self, size=-1):
        return self._file().readline(size)

    def __iter__(self):
        return iter(self._file())

    @property
    def buffer(self):
        return self._file().buffer

    def close(self):
        if self._f is not None:
            self._f.close()


OWN_NETNS = os.open("/proc/self/ns/net", os.O_RDONLY)


def run_file(path, args):
    """PATH as `python3 PATH ARGS` would run it: as __main__, its
    directory first on sys.path, with site-packages (the scripts'
    cryptography)."""
    if "site" not in sys.modules:
        # Once: the server starts without it (python3 -S), as most
        # requests are one-liners of the standard library.
        import site
        site.main()
    sys.argv = [path] + args
    d = os.path.dirname(os.path.abspath(path))
    if sys.path[0] != d:
        sys.path.insert(0, d)
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        # A script's globals are a cycle (its functions refer to them):
        # without this, sockets held there stay open, and ports bound,
        # until some later collection.
        gc.collect()


def run(pid, fds, netns, kind, code, args, cache):
    """Runs CODE as `ip netns exec NETNS python3 -c CODE ARGS` would (or
    without ip netns exec: NETNS empty; KIND "f": CODE is a file to run),
    with the caller's descriptors FDS as its stdin, stdout and stderr;
    returns the exit status."""
    path = "/proc/%d/fd/%%d" % pid
    out = err = None
    entered = False
    stdin = LazyIn(path % fds[0])
    try:
        # Pipes and character devices only (lib.sh's py): a file opened
        # anew would have an offset of its own.
        out = open(path % fds[1], "a")
        err = open(path % fds[2], "a")
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        sys.argv = ["-c"] + args
        if netns:
            # As ip netns exec does, and says, when there is none.
            try:
                enter(netns)
            except OSError as e:
                print('Cannot open network namespace "%s": %s' % (netns, e.strerror),
                      file=err)
                return 255
            entered = True
        if kind == "f":
            run_file(code, args)
        else:
            if code not in cache:
                cache[code] = compile(code, "<string>", "exec")
            exec(cache[code], {"__name__": "__main__"})
        status = 0
    except SystemExit as e:
        if e.code is None:
            status = 0
        elif isinstance(e.code, int):
            status = e.code
        else:
            print(e.code, file=sys.stderr)
            status = 1
    except BaseException as e:  # as python3 reports an uncaught exception
        # Without this file's frame: from the code's own line on.
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        status = 1
    finally:
        if entered:
            # Back home, or no later call could trust where it runs.
            setns(OWN_NETNS, "back")
        sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__
        # close() flushes; a reader gone (EPIPE) loses only the output.
        for f in (stdin, out, err):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
    return status & 0xff


def main(d):
    cache = {}
    # The caller holds both FIFOs open read-write, so neither open blocks;
    # once every writer of req is gone (the test ended), read() sees EOF.
    req = os.open(os.path.join(d, "req"), os.O_RDONLY)
    rep = os.open(os.path.join(d, "rep"), os.O_WRONLY)
    buf = b""
    while True:
        fields = buf.split(b"\0")
        # PID, STDIN, STDOUT, STDERR, NETNS, KIND, N, CODE and N
        # arguments, each NUL-ended.
        if len(fields) >= 8 and len(fields) - 1 >= 8 + int(fields[6]):
            pid = int(fields[0])
            fds = [int(f) for f in fields[1:4]]
            netns, kind = fields[4].decode(), fields[5].decode()
            n = int(fields[6])
            code = fields[7].decode()
            args = [a.decode() for a in fields[8:8 + n]]
            buf = b"\0".join(fields[8 + n:])
            status = run(pid, fds, netns, kind, code, args, cache)
            os.write(rep, b"%d %d\n" % (pid, status))
            continue
        data = os.read(req, 65536)
        if not data:
            return 0
        buf += data


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
