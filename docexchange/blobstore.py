"""Content-addressed blob store: files named by SHA-256, written to a temp file, fsynced, renamed, never
overwritten. The database keeps only hashes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

CHUNK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobTooLarge(ValueError):
    """The input exceeds the configured size limit; nothing was stored."""


class BlobNotFound(KeyError):
    pass


class BlobStore:
    def __init__(self, root: Path, max_bytes: int = 1024 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise BlobNotFound(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_bytes(self, data: bytes) -> str:
        import io

        return self.put_stream(io.BytesIO(data))[0]

    def put_stream(self, stream: IO[bytes]) -> tuple[str, int]:
        """Store a stream; returns (sha256, size). Streams in 1 MiB chunks, so memory stays flat."""
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise BlobTooLarge(f"blob exceeds {self.max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path_for(sha)
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, final)
                os.chmod(final, 0o444)
                _fsync_dir(final.parent)
            return sha, size
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def put_file(self, path: Path) -> tuple[str, int]:
        with open(path, "rb") as fh:
            return self.put_stream(fh)

    def get_bytes(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(sha256) from exc

    @contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        try:
            fh = open(self.path_for(sha256), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(sha256) from exc
        with fh:
            yield fh

    def check(self) -> bool:
        """Writable and readable (for /healthz)."""
        probe = self.root / "tmp" / ".probe"
        probe.write_bytes(b"ok")
        ok = probe.read_bytes() == b"ok"
        probe.unlink()
        return ok


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
