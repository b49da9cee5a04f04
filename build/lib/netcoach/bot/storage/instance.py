"""One process per SQLite file: a second `netcoach run` on the same file is refused.

SQLite serialises writes but knows nothing of claims: two processes delivering from one file
would each send what the other is sending. The lock is an advisory `flock` on a file next to
the database (`<database>.lock`), which the kernel releases when the process dies, however
it dies; the file names the process holding it, so the refusal can say which one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from .db import StoreError, ensure_folder, storage_fault


class InstanceLock:
    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: str | Path) -> InstanceLock:
        """Hold the lock for `database`, or raise StoreError naming the holder."""
        import fcntl

        path = Path(f"{database}.lock")
        ensure_folder(str(database))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only folder, most likely: said as for the database
            raise storage_fault(str(database), exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 400, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise StoreError(
                f"{database} is in use by another netcoach ({holder}); stop that one first. "
                "One process per SQLite file: for several workers use PostgreSQL "
                "(docs/deploy.md). Nothing was sent."
            ) from None
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv[:3]))
        note = f"pid {os.getpid()} on {socket.gethostname()}, since {since}: {command}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None
