"""Where ingested data comes from on disk: a file, a folder (every file in it, recursively), and
archives read transparently: ``.gz`` files, and the members of ``.zip`` and ``.tar`` (also
``.tar.gz``/``.tgz``) archives, gzipped members included. Nothing is unpacked to disk."""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

__all__ = ["HEAD_BYTES", "Source", "sources_at"]

# what format detection sees of each source
HEAD_BYTES = 8192


@dataclass(frozen=True)
class Source:
    """One stream of data: ``name`` says where it is (``archive.zip!member.json``), ``opener``
    opens it decompressed."""

    name: str
    opener: Callable[[], BinaryIO]

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        stream = self.opener()
        try:
            yield stream
        finally:
            stream.close()

    def head(self) -> bytes:
        with self.open() as stream:
            return stream.read(HEAD_BYTES)

    @property
    def filename(self) -> str:
        """The name format detection looks at: the member's or file's own name, ``.gz`` kept."""
        return self.name.rsplit("!", 1)[-1]


def sources_at(path: Path) -> Iterator[Source]:
    """Every source under ``path``, folders walked in name order, archives opened."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            yield from _file_sources(child)
    else:
        yield from _file_sources(path)


def _file_sources(path: Path) -> Iterator[Source]:
    name = path.name.lower()
    if name.endswith((".tar", ".tar.gz", ".tgz")) and tarfile.is_tarfile(path):
        yield from _tar_members(path)
    elif name.endswith(".zip") and zipfile.is_zipfile(path):
        yield from _zip_members(path)
    elif name.endswith(".gz"):
        yield Source(str(path), lambda: cast(BinaryIO, gzip.open(path, "rb")))  # noqa: SIM115 (Source.open closes it)
    else:
        yield Source(str(path), lambda: path.open("rb"))


def _gunzip(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))  # closing it leaves ``raw`` open


def _zip_members(path: Path) -> Iterator[Source]:
    with zipfile.ZipFile(path) as archive:
        members = [m.filename for m in archive.infolist() if not m.is_dir() and not _hidden(m.filename)]
    for member in members:
        yield Source(f"{path}!{member}", _zip_opener(path, member))


def _zip_opener(path: Path, member: str) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        archive = zipfile.ZipFile(path)
        member_stream = cast(BinaryIO, archive.open(member))
        stream = _gunzip(member_stream) if member.lower().endswith(".gz") else member_stream
        return cast(BinaryIO, _Owning(stream, member_stream, archive))

    return opener


def _tar_members(path: Path) -> Iterator[Source]:
    with tarfile.open(path) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and not _hidden(m.name)]
    for member in members:
        yield Source(f"{path}!{member.name}", _tar_opener(path, member))


def _tar_opener(path: Path, member: tarfile.TarInfo) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        # the member's header, read once, says where its data is: no scan of the archive per member
        archive = tarfile.open(path)  # noqa: SIM115 (the returned stream owns and closes it)
        extracted = archive.extractfile(member)
        if extracted is None:
            archive.close()
            raise OSError(f"{path}!{member.name} is not a regular file")
        member_stream = cast(BinaryIO, extracted)
        stream = _gunzip(member_stream) if member.name.lower().endswith(".gz") else member_stream
        return cast(BinaryIO, _Owning(stream, member_stream, archive))

    return opener


def _hidden(member: str) -> bool:
    """Archive clutter that is no data: macOS resource forks and dot files."""
    last = member.rsplit("/", 1)[-1]
    return member.startswith("__MACOSX/") or last.startswith(".")


class _Owning:
    """A member's (decompressed) stream that, closed, also closes the member and its archive."""

    def __init__(self, stream: BinaryIO, *owners: BinaryIO | zipfile.ZipFile | tarfile.TarFile) -> None:
        self._stream, self._owners = stream, owners

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()
        for owner in self._owners:
            owner.close()
