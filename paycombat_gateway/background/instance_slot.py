"""Which instance this process is, stable across restarts, so it can take back its own outbox leases.

A process that dies (``kill -9``, a crash) leaves its outbox claims leased for a minute. When it comes
back, a random worker id could not prove those claims were its own, so its reports waited for the lease.
Instead each process takes the first free *slot* in ``DATA_DIR``: an exclusive ``flock`` on
``instance-N.lock``, held as long as the process lives and released by the kernel when it dies. Slot N on
this host and data folder is one instance at a time, so whoever holds the slot now may release every
lease an earlier holder left behind; several processes on one machine get different slots, and none
takes another live process's claims.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["InstanceSlot"]

logger = logging.getLogger(__name__)
MAX_SLOTS = 64


@dataclass
class InstanceSlot:
    """A held slot; ``prefix`` begins the worker id of every process that ever held it."""

    prefix: str
    _descriptor: int

    @classmethod
    def acquire(cls, data_dir: Path) -> InstanceSlot | None:
        """The first free slot, or None (logged) when the folder cannot hold lock files."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            folder = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
            for number in range(MAX_SLOTS):
                descriptor = os.open(data_dir / f"instance-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(descriptor)
                    continue
                return cls(f"{socket.gethostname()}/{folder}/{number}/", descriptor)
        except OSError as exc:
            logger.warning("no instance slot in %s (%s): a restart waits for its own leases", data_dir, exc)
            return None
        logger.warning("all %d instance slots in %s are taken", MAX_SLOTS, data_dir)
        return None

    def release(self) -> None:
        """Give the slot up (the kernel does the same when the process dies)."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
