"""The zip file format, as the bundle writes it, and the writer that puts it on disk.

``layout`` turns entries whose sizes and CRC are known into the zip's byte sequence: local
headers with sizes (no data descriptors), entry data as file extents or bytes, the central
directory, and the end records; Zip64 fields appear only where a size, offset or count needs
them (PKWARE APPNOTE 6.3.10, 4.3.9 and 4.4). Fixed fields: 1980-01-01 00:00, Unix, 0644.

``write_hashing`` writes that sequence and returns its SHA-256, reading each byte once:
extents are read into a few aligned buffers, and each buffer is hashed by a second thread
and written by a third while the next ones fill. The file is opened with ``O_DIRECT`` where the file
system allows it: a bundle of gigabytes goes to the disk without first being copied into
the page cache (where, measured, most of the time of a buffered write went, and the
following fsync after it), and without evicting the sources and cache the next job reads.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import mmap
import os
import queue
import struct
import threading
from pathlib import Path

STORED, DEFLATED = 0, 8
DOS_TIME, DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00
VERSION, VERSION_ZIP64 = 20, 45
MADE_BY = (3 << 8) | VERSION_ZIP64  # Unix, so unzip applies the permission bits
EXTERNAL_ATTR = 0o100644 << 16
UTF8_NAME = 0x0800
ZIP32_LIMIT, ENTRIES_LIMIT = 0xFFFFFFFF, 0xFFFF
ZIP64_EXTRA = 0x0001

BLOCK = 4096  # O_DIRECT wants block-aligned buffers, offsets and lengths
BUFFER = 8 << 20
BUFFERS = 4
O_DIRECT = getattr(os, "O_DIRECT", 0)  # Linux; elsewhere the writer is buffered

Extent = tuple[Path, int]  # the first ``length`` bytes of a file
Segment = bytes | Extent


@dataclasses.dataclass(frozen=True)
class ZipEntry:
    name: str
    size: int
    crc32: int
    method: int  # STORED or DEFLATED
    packed: int  # bytes of data in the zip
    data: Segment


def layout(entries: list[ZipEntry], zip64_from: int = ZIP32_LIMIT) -> list[Segment]:
    """The zip as a sequence of byte strings and file extents, in order. ``zip64_from``
    lowers the value from which Zip64 fields are written (tests)."""
    segments: list[Segment] = []
    central = bytearray()
    offset = 0
    for entry in entries:
        header = _local_header(entry, zip64_from)
        central += _central_header(entry, offset, zip64_from)
        segments += [header, entry.data]
        offset += len(header) + entry.packed
    segments.append(bytes(central))
    segments.append(_end_records(len(entries), len(central), offset, zip64_from))
    return segments


def _flags(name: str) -> int:
    return 0 if name.isascii() else UTF8_NAME


def _local_header(e: ZipEntry, zip64_from: int) -> bytes:
    name = e.name.encode()
    big = max(e.size, e.packed) >= zip64_from
    extra = struct.pack("<HHQQ", ZIP64_EXTRA, 16, e.size, e.packed) if big else b""
    packed, size = (ZIP32_LIMIT, ZIP32_LIMIT) if big else (e.packed, e.size)
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, VERSION_ZIP64 if big else VERSION,
                       _flags(e.name), e.method, DOS_TIME, DOS_DATE, e.crc32, packed, size,
                       len(name), len(extra)) + name + extra


def _central_header(e: ZipEntry, offset: int, zip64_from: int) -> bytes:
    name = e.name.encode()
    big = max(e.size, e.packed) >= zip64_from
    wide = [e.size, e.packed] if big else []  # this order: APPNOTE 4.5.3
    if offset >= zip64_from:
        wide.append(offset)
    extra = struct.pack(f"<HH{len(wide)}Q", ZIP64_EXTRA, 8 * len(wide), *wide) if wide else b""
    packed, size = (ZIP32_LIMIT, ZIP32_LIMIT) if big else (e.packed, e.size)
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, MADE_BY,
                       VERSION_ZIP64 if wide else VERSION, _flags(e.name), e.method, DOS_TIME,
                       DOS_DATE, e.crc32, packed, size, len(name), len(extra), 0, 0, 0,
                       EXTERNAL_ATTR, offset if offset < zip64_from else ZIP32_LIMIT,
                       ) + name + extra


def _end_records(count: int, central_size: int, central_at: int, zip64_from: int) -> bytes:
    records = b""
    if count >= min(ENTRIES_LIMIT, zip64_from) or max(central_size, central_at) >= zip64_from:
        records = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, MADE_BY, VERSION_ZIP64, 0, 0,
                              count, count, central_size, central_at)
        records += struct.pack("<IIQI", 0x07064B50, 0, central_at + central_size, 1)
        # As zipfile does: a field that overflows says so, and readers use the record.
        count = min(count, ENTRIES_LIMIT)
        central_size, central_at = min(central_size, ZIP32_LIMIT), min(central_at, ZIP32_LIMIT)
    return records + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, central_size,
                                 central_at, 0)


# --- writing ------------------------------------------------------------------------------


def write_hashing(segments: list[Segment], out: Path) -> tuple[str, int]:
    """Write ``segments`` to a new file ``out``; (SHA-256 of its bytes, their count)."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        digest = hashlib.sha256()
        writer = _Writer(fd, _try_direct(fd), digest)
        try:
            total = _fill(segments, writer)
        finally:
            writer.close()
        if writer.padded:  # the last block was written whole: cut it to the real end
            os.ftruncate(fd, total)
    finally:
        os.close(fd)
    return digest.hexdigest(), total


def _try_direct(fd: int) -> bool:
    if not O_DIRECT:
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | O_DIRECT)
    except OSError:  # tmpfs and some others refuse it
        return False
    return True


def _fill(segments: list[Segment], writer: _Writer) -> int:
    """Copy every segment into the writer's buffers, handing each on as it fills."""
    buf, pos, total = writer.take(), 0, 0

    def hand_on() -> None:
        nonlocal buf, pos, total
        writer.put(buf, pos)
        total += pos
        buf, pos = writer.take(), 0

    for segment in segments:
        if isinstance(segment, bytes):
            view = memoryview(segment)
            while view:
                n = min(len(view), BUFFER - pos)
                buf[pos:pos + n] = view[:n]
                view, pos = view[n:], pos + n
                if pos == BUFFER:
                    hand_on()
            continue
        path, left = segment
        src = os.open(path, os.O_RDONLY)
        try:
            while left:
                n = os.readv(src, [memoryview(buf)[pos:pos + min(left, BUFFER - pos)]])
                if n == 0:
                    raise OSError(f"{path}: {left} of {segment[1]} bytes missing: it changed "
                                  "while packing")
                pos, left = pos + n, left - n
                if pos == BUFFER:
                    hand_on()
        finally:
            os.close(src)
    if pos:
        hand_on()
    writer.give_back(buf)
    return total


class _Writer:
    """Hashes filled buffers in one thread and writes them in another, while the filling
    thread goes on (all three mostly outside the GIL: hashlib, readv and write release it),
    then hands each buffer back for reuse. A write error stops the copying at the next
    buffer."""

    def __init__(self, fd: int, direct: bool, digest: hashlib._Hash) -> None:
        self._fd, self._direct, self.padded = fd, direct, False
        self._digest = digest
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        for _ in range(BUFFERS):
            self._free.put(mmap.mmap(-1, BUFFER))
        self._filled: queue.Queue[tuple[mmap.mmap, int] | None] = queue.Queue()
        self._full: queue.Queue[tuple[mmap.mmap, int] | None] = queue.Queue()
        self._error: OSError | None = None
        self._threads = [threading.Thread(target=self._hash, name="bundle-sha256", daemon=True),
                         threading.Thread(target=self._run, name="bundle-writer", daemon=True)]
        for thread in self._threads:
            thread.start()

    def take(self) -> mmap.mmap:
        if self._error is not None:
            raise self._error
        return self._free.get()

    def put(self, buf: mmap.mmap, length: int) -> None:
        self._filled.put((buf, length))

    def give_back(self, buf: mmap.mmap) -> None:
        self._free.put(buf)

    def close(self) -> None:
        self._filled.put(None)
        for thread in self._threads:
            thread.join()
        while not self._free.empty():
            self._free.get().close()
        if self._error is not None:
            raise self._error

    def _hash(self) -> None:
        while (item := self._filled.get()) is not None:
            buf, length = item
            with memoryview(buf) as view:
                self._digest.update(view[:length])
            self._full.put(item)
        self._full.put(None)

    def _run(self) -> None:
        while (item := self._full.get()) is not None:
            buf, length = item
            if self._error is None:
                try:
                    self._write(buf, length)
                except OSError as exc:
                    self._error = exc
            self._free.put(buf)

    def _write(self, buf: mmap.mmap, length: int) -> None:
        if self._direct and length % BLOCK:  # only the last buffer: pad it to a whole block
            length += BLOCK - length % BLOCK
            self.padded = True
        view = memoryview(buf)[:length]
        while view:
            try:
                view = view[os.write(self._fd, view):]
            except OSError as exc:
                if exc.errno != errno.EINVAL or not self._direct:
                    raise
                # The file system took O_DIRECT at open but refuses the write: buffered.
                fcntl.fcntl(self._fd, fcntl.F_SETFL,
                            fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~O_DIRECT)
                self._direct = False
