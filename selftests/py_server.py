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
code's stdin, stdout and stderr, the number of arguments, the code and
the arguments, each ended by a NUL byte, written in one write (under
PIPE_BUF, so that requests never interleave).  The code runs with
sys.argv = ["-c", ARGS...] and its standard streams opened from
/proc/PID/fd/; the answer is "PID STATUS\\n", STATUS what python3 would
have exited with.  The code runs in this process's network
namespace, the test's own: code that needs another runs as its own
python3 under `ip netns exec`.
"""
import io
import os
import sys
import traceback


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


def run(pid, fds, code, args, cache):
    """Runs CODE as `python3 -c CODE ARGS` would, with the caller's
    descriptors FDS as its stdin, stdout and stderr; returns the exit
    status."""
    path = "/proc/%d/fd/%%d" % pid
    out = err = None
    stdin = LazyIn(path % fds[0])
    try:
        # Pipes and character devices only (lib.sh's py): a file opened
        # anew would have an offset of its own.
        out = open(path % fds[1], "a")
        err = open(path % fds[2], "a")
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        sys.argv = ["-c"] + args
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
        # PID, STDIN, STDOUT, STDERR, N, CODE and N arguments, each
        # NUL-ended.
        if len(fields) >= 6 and len(fields) - 1 >= 6 + int(fields[4]):
            pid = int(fields[0])
            fds = [int(f) for f in fields[1:4]]
            n = int(fields[4])
            code = fields[5].decode()
            args = [a.decode() for a in fields[6:6 + n]]
            buf = b"\0".join(fields[6 + n:])
            status = run(pid, fds, code, args, cache)
            os.write(rep, b"%d %d\n" % (pid, status))
            continue
        data = os.read(req, 65536)
        if not data:
            return 0
        buf += data


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
