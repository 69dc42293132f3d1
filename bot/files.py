"""Files the bot writes hold invite codes, board tokens, names and uploaded reports: only their owner may read them.

Files are created 0600 and folders 0700 whatever the process's umask. SQLite gives a database's -wal and -shm files
the database file's own mode, so a private database stays private with them.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700; folders that already exist keep their mode."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is narrowed by the umask, never widened: set it exactly
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists and only its owner can read and write it (an older 0644 file is narrowed too)."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write a whole file (an export, a ZIP) readable by its owner only."""
    private_file(path)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


class ProcessLock:
    """An exclusive lock on `<database>.lock`, held by the running bot for its whole life.

    `restore` takes it too, so a restore can never move the database away under a running bot, and a second bot
    started on the same database is refused. The operating system releases it when the process dies, even by
    SIGKILL, so a crash never leaves a stale lock behind.
    """

    def __init__(self, database: Path):
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        private_file(self.path)
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
