"""Writing files that hold personal data: readable by their owner only, replaced atomically.

A dump or an export is written to a temporary file next to its target (same folder, so the
same file system), flushed to disk and then renamed over the target. Killed at any point, the
writer leaves the previous file as it was; at worst a hidden ``.NAME.*.tmp`` file stays behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# owner reads and writes: dumps and exports hold names, phone numbers and password hashes
PRIVATE_MODE = 0o600


@contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose contents replace ``path`` (mode 0600) only if the block succeeds."""
    path = Path(path)
    folder = path.parent
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, PRIVATE_MODE)  # mkstemp's mode already; said here, before any byte
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file, so the rename survives a power cut."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
