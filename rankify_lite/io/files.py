"""Opening (possibly compressed) text files and writing them atomically.

Every input file's lines are read by :func:`iter_lines` (JSONL corpora and queries, TREC runs,
qrels and topics): compression by magic bytes (gzip, bzip2, xz), UTF-8 checked per line, and no
line longer than :data:`MAX_LINE_BYTES` once decompressed, so a small archive whose one line
expands without limit is refused with its line number instead of filling the memory.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BZ2_BLOCK = b"1AY&SY"  # after "BZh" and the block size digit: pi's digits, bzip2's block magic
#: the longest line (bytes, after decompression) an input file may hold; no corpus passage,
#: run or qrels line comes near it
MAX_LINE_BYTES = 64 << 20
BOM = "\ufeff"


def check_readable(path: str | Path, what: str = "file") -> Path:
    """``path`` as a Path if it is an existing file; otherwise an InputError that says why."""
    from rankify_lite.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} does not exist.", path=path, fix="check the path and spelling.")
    if path.is_dir():
        raise InputError(f"{what} is a folder, not a file.", path=path,
                         fix="point at the file inside it.")
    return path


def open_binary(path: str | Path, what: str = "file") -> IO[bytes]:
    """Open for reading as bytes, decompressing gzip, bzip2 and xz by their magic bytes (not by
    the file name: a gzip file named ``.trec`` and a plain file named ``.gz`` both read
    correctly)."""
    path = check_readable(path, what)
    with open(path, "rb") as fh:
        head = fh.read(10)
    if head.startswith(_GZIP_MAGIC):
        return gzip.open(path, "rb")
    if head.startswith(_XZ_MAGIC):
        return lzma.open(path, "rb")
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (_BZ2_BLOCK, b"\x17rE8P\x90"):
        return bz2.open(path, "rb")  # the second: an empty stream's end-of-stream magic
    return open(path, "rb")


def iter_lines(path: str | Path, what: str = "file") -> Iterator[tuple[int, str]]:
    """(line number, text) for every line; bad bytes, a line longer than
    :data:`MAX_LINE_BYTES`, a truncated or corrupt archive raise an InputError naming the file
    and the line."""
    from rankify_lite.errors import InputError

    lineno = 0
    limit = MAX_LINE_BYTES
    try:
        with open_binary(path, what) as fh:
            while raw := fh.readline(limit + 1):  # never more than one bounded line in memory
                lineno += 1
                if len(raw) > limit and not raw.endswith(b"\n"):
                    raise InputError(
                        f"{what} line {lineno} is longer than {_size(limit)} (after "
                        "decompression); no input line should be.", path=path, line=lineno,
                        fix="check the file (a compressed file that expands without limit?); "
                            "split records one per line.")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"{what} has bytes that are not UTF-8 (column {exc.start + 1}).",
                                     path=path, line=lineno,
                                     fix="re-encode the file as UTF-8 (e.g. iconv -t UTF-8).") from None
                if lineno == 1 and text.startswith(BOM):
                    text = text[1:]  # a UTF-8 byte order mark (Windows editors) is not content
                yield lineno, text
    except (EOFError, OSError, lzma.LZMAError, zlib.error) as exc:  # zlib: corrupt gzip
        raise InputError(f"{what} could not be read after line {lineno}: {exc}.", path=path,
                         fix="the compressed file is truncated or corrupt; recreate it.") from None


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n} bytes"


def read_text(path: str | Path, what: str = "file") -> str:
    """The whole (possibly compressed) file as text; errors as :func:`iter_lines`."""
    return "".join(line for _, line in iter_lines(path, what))


def open_text(path: str | Path) -> IO[str]:
    """Open a text file for reading, decompressing gzip and xz by their magic bytes."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig")  # a BOM is skipped


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place on success.

    A crash or exception leaves the old file (or no file) in place, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise with_filename(exc, path) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def with_filename(exc: OSError, path: str | Path) -> OSError:
    """``exc`` naming ``path`` (a failed write, e.g. disk full, often names no file)."""
    if getattr(exc, "filename", None):
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def inside(root: str | Path, name: str | Path, what: str = "output file") -> Path:
    """``root / name`` when it lies inside the folder ``root`` once resolved; otherwise an
    InputError. An absolute ``name``, one with a ``..`` part (POSIX or Windows spelling) or one
    that reaches outside through a symbolic link is refused: every path a name becomes, and
    every file a shared file names, goes through here before anything is written."""
    from pathlib import PureWindowsPath

    from rankify_lite.errors import InputError

    text = str(name)
    fix = "give a plain file name inside the folder (no '..', no absolute path, no link out)."
    win = PureWindowsPath(text)
    if (not text or Path(text).is_absolute() or win.is_absolute() or win.drive
            or ".." in Path(text).parts or ".." in win.parts or "\0" in text):
        raise InputError(f"{what} {text[:80]!r} is not a path inside the folder.", path=root,
                         fix=fix)
    target = Path(root) / text
    base = Path(root).resolve()
    real = target.resolve()
    if real != base and base not in real.parents:
        raise InputError(f"{what} {text[:80]!r} resolves to {real}, outside the folder.",
                         path=root, fix=fix)
    return target
