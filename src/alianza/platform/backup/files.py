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
    folder = path.parent if str(path.parent) else Path(".")
    # mkstemp creates the file with mode 0600, before a single byte is written into it
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, PRIVATE_MODE)
        os.replace(temporary, path)
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
