"""Contact CSV files as people have them, read the same way by `mailfleetctl contacts import` and the
TUI's import: UTF-8 with or without a BOM (UTF-16 with one), or a legacy code page named by the user;
commas, semicolons (what spreadsheets write in Polish and German locales) or tabs, told by the header;
sent in chunks of rows, each with the header, so the daemon validates them as it does any import.

A file that is not UTF-8 is never guessed at silently: the error names the line and byte, and which
legacy code page its bytes look like (windows-1250 for Polish, Czech, Hungarian; windows-1252 for
Western European), with the option that reads it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_ROWS = 5000  # rows per contacts.import call: well under the daemon's message size cap

# Bytes that are letters in one code page and not (or rarely) in the other: enough to name a likely one.
_CP1250_ONLY = frozenset(b"\xb9\xea\xb3\x9c\xbf\x9f\xe6\xa3\x8c\xaf\x8f\xa5\xca\xc6\x9a\x8a\x9e\x8e\xe8\xc8\xf8\xd8\xec"
                         b"\xf9\xd9\xe1\xf5\xfb\xd5\xdb")
_CP1252_ONLY = frozenset(b"\xe4\xf6\xfc\xdf\xc4\xd6\xdc\xe0\xe2\xe7\xe9\xeb\xee\xef\xf4\xf1\xc0\xc9\xd1")


class CsvProblem(ValueError):
    """What is wrong with the file, in words a person can act on (with the line, where there is one)."""


def likely_code_page(data: bytes) -> str:
    hi = [b for b in data if b >= 0x80]
    one, two = sum(b in _CP1250_ONLY for b in hi), sum(b in _CP1252_ONLY for b in hi)
    return "cp1250" if one >= two else "cp1252"


def check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise CsvProblem(f"{name!r} is not an encoding Python knows (e.g. utf-8, cp1250, cp1252, iso-8859-2)") from None


@dataclass
class Chunk:
    csv: str  # the header row and up to CHUNK_ROWS rows, as CSV text
    first_row: int  # the file's line number of the chunk's first row: errors name lines of the file
    rows: int
    done_bytes: int  # how far into the file (for progress); total_bytes is None when unknown (stdin)


class ContactFile:
    """Iterate a contact CSV as chunks. `total_bytes` is None for a pipe: progress is then rows, not a share.

    Lines are split as bytes and decoded one by one (a newline byte is never inside a UTF-8 or code-page
    character), so a decoding error names the exact line; UTF-16 alone is decoded as a stream."""

    def __init__(self, stream: BinaryIO, name: str, encoding: str | None = None, chunk_rows: int = CHUNK_ROWS) -> None:
        self.name, self.chunk_rows = name, chunk_rows
        self._raw = stream
        try:
            size = os.fstat(stream.fileno()).st_size
            self.total_bytes: int | None = size if size and stream.seekable() else None
        except (OSError, ValueError, io.UnsupportedOperation):
            self.total_bytes = None
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
        if encoding:
            self.encoding = check_encoding(encoding)
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.encoding = "utf-16"
        else:
            self.encoding = "utf-8"
        self._line = 0

    @classmethod
    def open(cls, path: str, encoding: str | None = None, chunk_rows: int = CHUNK_ROWS) -> "ContactFile":
        try:
            return cls(open(path, "rb"), path, encoding, chunk_rows)
        except OSError as exc:
            raise CsvProblem(f"cannot read {path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        self._raw.close()

    def _lines(self) -> Iterator[str]:
        if self.encoding.startswith("utf-16"):
            for self._line, text in enumerate(io.TextIOWrapper(self._raw, encoding=self.encoding, newline=""), 1):
                yield text
            return
        for self._line, raw in enumerate(self._raw, 1):
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError as exc:
                guess = likely_code_page(raw)
                where = "Polish, Czech, Hungarian" if guess == "cp1250" else "Western European"
                raise CsvProblem(
                    f"{self.name}: line {self._line} is not {self.encoding} (byte 0x{raw[exc.start]:02x}). Its bytes "
                    f"look like {guess} ({where}): import it with encoding {guess}, or save it from the "
                    "spreadsheet as 'CSV UTF-8'") from None
            yield text.removeprefix("\ufeff") if self._line == 1 else text  # a BOM names no column

    def chunks(self) -> Iterator[Chunk]:
        lines = self._lines()
        sample = next(lines, "")
        if not sample.strip():
            raise CsvProblem(f"{self.name}: empty file (the first line names the columns: email, ...)")
        try:
            dialect: type[csv.Dialect] | str = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = "excel"  # one column, or nothing to tell: commas
        reader = csv.reader(itertools.chain([sample], lines), dialect=dialect)
        try:
            header = next(reader)
            while True:
                first = reader.line_num + 1
                rows = []
                for row in reader:
                    rows.append(row)
                    if len(rows) >= self.chunk_rows:
                        break
                if not rows:
                    return
                buf = io.StringIO()
                writer = csv.writer(buf)
                writer.writerow(header)
                writer.writerows(rows)
                yield Chunk(buf.getvalue(), first, len(rows), self._position())
        except csv.Error as exc:
            raise CsvProblem(f"{self.name}: line {self._line}: {exc}") from None

    def _position(self) -> int:
        try:
            return self._raw.tell() if self.total_bytes else 0
        except (OSError, ValueError):
            return 0
