"""Every export is parsed in a child process with an address-space cap and a time limit.

The native readers (calamine, lxml) run on untrusted bytes. A file can make them abort the process
(`memory allocation of 549755813888 bytes failed` for a cell in XFD1048576), allocate until the machine
kills something, or never finish. Guarding against each known shape is not enough: new shapes arrive. So
the parse runs in a child that may die: whatever ends it early (a signal, the memory cap, the time limit,
an exception) becomes the file's `unreadable_file` finding, and the run goes on with the other files.

Children are forked from a small reading server (`python -m pipeline.lib.isolation`, started once per
process and kept) that has already imported the reader, so a child starts in milliseconds. The server is
single-threaded and never reads a file itself, so forking it is safe and its death is never a file's
fault. (multiprocessing's forkserver would re-run the launching script in every child: for the `dagster`
command, all of Dagster per file.) The result travels back as a pickle file, which the parse cache keeps
as it is. `READER_PROCESSES` servers read at once (default: up to 2, the cores of the reference machine).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import pickle
import re
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Iterator, Sequence

from pipeline.lib.messages import say
from pipeline.lib.reader import FileResult, read_file, rejected_result
from pipeline.lib.tablespecs import TableSpec
from pipeline.lib.wording import number, size

MEMORY_LIMIT_ENV = "READER_MEMORY_LIMIT"
TIMEOUT_ENV = "READER_TIMEOUT_SECONDS"
PROCESSES_ENV = "READER_PROCESSES"
DEFAULT_MEMORY = "4GB"  # address space, not resident memory: the largest 10x export peaks well under it
DEFAULT_TIMEOUT = 300.0  # the largest 10x export takes about 8 s
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_EXIT_MEMORY, _EXIT_ERROR, _SERVER_LOST = 70, 71, 72


class LimitsError(ValueError):
    """A reader limit in the environment that is not a valid value; the message names the variable."""


def parse_size(text: str, variable: str) -> int:
    """`4GB`, `512 MB`, `1073741824` -> bytes."""
    cleaned = text.strip().upper().replace(" ", "").removesuffix("IB").removesuffix("B")
    number = cleaned.rstrip("KMGT")
    unit = cleaned[len(number):] + ("B" if cleaned[len(number):] else "")
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise LimitsError(say("setting.not_a_size", variable=variable, text=text)) from None
    if value < 64 * 1024**2:
        raise LimitsError(say("setting.size_too_small", variable=variable, text=text))
    return int(value)


@dataclass(frozen=True)
class ReaderLimits:
    memory_bytes: int
    timeout_seconds: float
    processes: int

    @classmethod
    def from_env(cls, environ=os.environ) -> "ReaderLimits":
        memory = parse_size(environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY, MEMORY_LIMIT_ENV)
        try:
            timeout = float(environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
            assert timeout > 0
        except (ValueError, AssertionError):
            raise LimitsError(say("setting.not_seconds", variable=TIMEOUT_ENV, text=environ.get(TIMEOUT_ENV))) from None
        try:
            processes = int(environ.get(PROCESSES_ENV) or min(2, os.cpu_count() or 1))
            assert processes >= 1
        except (ValueError, AssertionError):
            raise LimitsError(say("setting.not_whole", variable=PROCESSES_ENV, text=environ.get(PROCESSES_ENV))) from None
        return cls(memory, timeout, processes)


@dataclass(frozen=True)
class ReadJob:
    path: Path
    relative: str  # to the quarter folder (or as the user gave it): the name findings use
    source: str
    specs: tuple[TableSpec, ...]


@dataclass
class ReadOutcome:
    job: ReadJob
    result: FileResult
    pickle_path: Path | None  # the result as the child wrote it (None when the child failed)


def _child(job: ReadJob, out: str, err: str, memory_bytes: int, cpu_seconds: int) -> None:
    """In the forked child: limits first, then the parse; the result pickled to `out`. Anything the
    native code prints goes to `err` (fds 1 and 2), where the parent reads the reason of a crash."""
    handle = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))  # an orphan stops by itself
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        result = read_file(job.path, job.relative, job.source, job.specs)
        partial = f"{out}.partial"
        with open(partial, "wb") as target:
            pickle.dump(result, target, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, out)
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except BaseException as exc:  # a reader bug on this file: its message is the reason
        os.write(2, f"\n{type(exc).__name__}: {exc}\n".encode("utf-8", "replace"))
        os._exit(_EXIT_ERROR)
    os._exit(0)


# --- the server: one per parallel reader, forking a child per file -----------------------------------


def _send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    """The next message, or None at the end of the stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = struct.unpack("<Q", head)[0]
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def _wait_child(pid: int, timeout: float) -> int | None:
    """The child's exit code (negative: the signal), or None when it ran past `timeout` and was killed."""
    deadline = time.monotonic() + timeout
    try:
        descriptor = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (an old kernel): poll
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.01)
    else:
        ready = select.select([descriptor], [], [], timeout)[0]
        os.close(descriptor)
        if ready:
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def serve() -> None:
    """The server's loop (`python -m pipeline.lib.isolation`): for each job on stdin, fork a child that
    reads the file, wait for it within the time limit, answer its exit code on stdout (as a one-element
    tuple: a bare None, the time limit, would read as the end of the stream). The server itself never
    touches a file's bytes, and is single-threaded, so forking it is safe."""
    gc.freeze()  # the imported modules' objects: not copied into each child by the collector's writes
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write on the answer channel
    while (message := _receive(stdin)) is not None:
        job, out, err, limits = message
        pid = os.fork()
        if pid == 0:
            stdin.close()
            gc.disable()  # millions of short-lived objects, no cycles: reference counting frees them
            _child(job, out, err, limits.memory_bytes, int(limits.timeout_seconds) + 5)
        _send(stdout, (_wait_child(pid, limits.timeout_seconds),))


class _Server:
    """A reading server process, seen from the pipeline."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "pipeline.lib.isolation"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, close_fds=True,
                                        env={**os.environ, "RUST_BACKTRACE": "0"})
        self.busy: tuple | None = None  # (index, out, err) of the job it is reading

    def submit(self, index: int, message: tuple) -> None:
        self.busy = (index, message[1], message[2])
        _send(self.process.stdin, message)

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_servers: list[_Server] = []


def _pool(count: int) -> list[_Server]:
    """`count` live servers, kept for the life of the process (each ingest step of a run reuses them:
    a server starts in about a second, a child in milliseconds)."""
    _servers[:] = [s for s in _servers if s.process.poll() is None]
    while len(_servers) < count:
        _servers.append(_Server())
    return _servers[:count]


@atexit.register
def _close_servers() -> None:
    while _servers:
        _servers.pop().close()


def read_isolated(jobs: Sequence[ReadJob], limits: ReaderLimits, workdir: Path | None = None) -> Iterator[ReadOutcome]:
    """Parse each job's file in its own child, up to `limits.processes` at once; yield outcomes in the
    order of `jobs`. A child that crashes, exceeds a limit or raises yields a rejected result with the
    reason. Result pickles are written under `workdir` (a temporary folder when None); the caller may
    keep them (the parse cache moves them in) or leave them to be deleted."""
    if not jobs:
        return
    temporary = tempfile.TemporaryDirectory(prefix="reader-") if workdir is None else None
    folder = Path(temporary.name if temporary else workdir)
    folder.mkdir(parents=True, exist_ok=True)
    servers = _pool(min(limits.processes, len(jobs)))
    waiting = list(enumerate(jobs))[::-1]
    finished: dict[int, ReadOutcome] = {}
    lost: dict[int, int] = {}  # times a job's server died under it
    next_index = 0
    try:
        while next_index < len(jobs):
            for server in servers:
                if server.busy is None and waiting:
                    index, job = waiting.pop()
                    out = folder / f"{os.getpid()}-{index}-{time.monotonic_ns()}.pickle"
                    message = (job, str(out), str(out.with_suffix(".stderr")), limits)
                    try:
                        server.submit(index, message)
                    except OSError:  # the server is gone (killed from outside): a new one takes the file
                        server.close()
                        servers[servers.index(server)] = server = _Server()
                        _servers.append(server)
                        server.submit(index, message)
            busy = {s.process.stdout: s for s in servers if s.busy is not None}
            for stream in wait(list(busy)):
                server = busy[stream]
                index, out, err = server.busy
                server.busy = None
                answer = _receive(stream)
                if answer is None:  # the server died (killed from outside: it never reads a file itself)
                    server.close()
                    servers[servers.index(server)] = replacement = _Server()
                    _servers.append(replacement)
                    lost[index] = lost.get(index, 0) + 1
                    if lost[index] < 2:  # the file is not to blame: read it again on the new server
                        waiting.append((index, jobs[index]))
                    else:
                        finished[index] = _outcome(jobs[index], _SERVER_LOST, Path(out), Path(err), limits)
                else:
                    finished[index] = _outcome(jobs[index], answer[0], Path(out), Path(err), limits)
                Path(err).unlink(missing_ok=True)
            while next_index in finished:
                yield finished.pop(next_index)
                next_index += 1
    finally:
        for server in servers:
            if server.busy is not None:  # abandoned mid-read (the caller stopped): this server is not reusable
                server.close()
                Path(server.busy[1]).unlink(missing_ok=True)
                Path(server.busy[2]).unlink(missing_ok=True)
        if temporary is not None:
            temporary.cleanup()


_TELLING = re.compile(r"memory allocation of|panicked at|^\w+(Error|Exception):|Segmentation|Abort", re.I)


def _stderr_reason(err: Path) -> str:
    """The line of the child's error output that says what happened (an allocation failure, a panic,
    an exception), else its last line."""
    try:
        with open(err, "rb") as handle:
            handle.seek(max(0, os.path.getsize(err) - 16384))
            lines = [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return ""
    telling = [line for line in lines if _TELLING.search(line)]
    return (telling[-1] if telling else lines[-1] if lines else "")[:300]


def failure_reason(exitcode: int | None, stderr_tail: str, limits: ReaderLimits) -> str:
    """Plain words for how a reading child ended without a result."""
    if exitcode is None:
        return (f"việc đọc không xong trong {number(limits.timeout_seconds)} giây ({TIMEOUT_ENV}) nên đã bị dừng: "
                "tệp sai cấu trúc hoặc lớn hơn nhiều so với một tệp xuất")
    allocation = "memory allocation of" in stderr_tail or "out of memory" in stderr_tail.lower()
    if exitcode == _EXIT_MEMORY or allocation:
        detail = ""
        if allocation and stderr_tail.split()[3:4] and stderr_tail.split()[3].isdigit():
            detail = f" (một lần xin {size(int(stderr_tail.split()[3]))})"
        return (f"việc đọc cần nhiều bộ nhớ hơn giới hạn {size(limits.memory_bytes)} của trình đọc "
                f"({MEMORY_LIMIT_ENV}){detail}: tệp khai báo số ô hoặc chuỗi vượt xa nội dung thật, "
                "hoặc tệp bị hỏng")
    if exitcode == _EXIT_ERROR:
        return f"trình đọc gặp lỗi với tệp này: {stderr_tail or 'không có thông báo'}"
    if exitcode == _SERVER_LOST:
        return "tiến trình đọc bị mất khi đang đọc tệp này"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else str(-exitcode)
        cause = {"SIGXCPU": "dùng quá thời gian CPU cho phép để đọc",
                 "SIGKILL": "bị dừng cưỡng bức (hết bộ nhớ?)"}.get(name, "trình đọc gốc bị sập")
        return f"trình đọc dừng trên tệp này với tín hiệu {name}: {cause}" + (f" ({stderr_tail})" if stderr_tail else "")
    return f"trình đọc kết thúc với mã {exitcode}" + (f" ({stderr_tail})" if stderr_tail else "")


def _outcome(job: ReadJob, exitcode: int | None, out: Path, err: Path, limits: ReaderLimits) -> ReadOutcome:
    if exitcode == 0 and out.exists():
        try:
            with open(out, "rb") as handle:
                return ReadOutcome(job, pickle.load(handle), out)
        except Exception as exc:  # a result the child could not finish writing
            reason = f"không đọc lại được kết quả của trình đọc ({exc})"
    else:
        reason = failure_reason(exitcode, _stderr_reason(err), limits)
    out.unlink(missing_ok=True)
    Path(f"{out}.partial").unlink(missing_ok=True)
    return ReadOutcome(job, rejected_result(job.path, job.relative, job.source, reason), None)


def read_file_isolated(path: Path, relative: str, source: str, specs: tuple[TableSpec, ...],
                       limits: ReaderLimits | None = None) -> FileResult:
    """One file through a child process (the file-check command, tests)."""
    outcome = next(read_isolated([ReadJob(path, relative, source, specs)], limits or ReaderLimits.from_env()))
    return outcome.result



if __name__ == "__main__":
    serve()
