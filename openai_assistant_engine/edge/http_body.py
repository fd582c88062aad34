"""Reading a request body on a kept-alive connection without letting it bleed into the next.

``http.server`` leaves the body to the handler. Whatever a handler leaves unread is parsed
as the next request on the connection, so a body the server misjudges is request
smuggling: a ``Transfer-Encoding: chunked`` body read as empty, or a negative
``Content-Length``. Here a body is either read exactly (a ``Content-Length`` of plain
digits, or chunked encoding decoded) or refused with an error after which the server
closes the connection. Both framings at once, repeated or odd length headers, and
transfer codings other than ``chunked`` are refused, as RFC 9112 allows.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import BinaryIO

__all__ = ["BodyError", "read_body"]

_DIGITS = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_MAX_LINE = 4096  # a chunk-size line or a trailer line
_MAX_TRAILERS = 64


class BodyError(Exception):
    """A body that cannot be read safely: answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_body(headers: Message, rfile: BinaryIO, max_bytes: int) -> bytes:
    """The request body framed by ``headers``; raises :class:`BodyError`."""
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if codings and lengths:
        raise BodyError(400, "Send Content-Length or Transfer-Encoding, not both.")
    if codings:
        coding = ",".join(codings).strip().lower()
        if coding != "chunked":
            raise BodyError(
                501, f"Transfer-Encoding {coding[:40]!r} is not supported; use chunked or none."
            )
        return _read_chunked(rfile, max_bytes)
    if not lengths:
        return b""
    if len(lengths) > 1:
        raise BodyError(400, "The request has more than one Content-Length header.")
    text = lengths[0].strip()
    if not _DIGITS.fullmatch(text):
        raise BodyError(400, "Content-Length must be a non-negative whole number of bytes.")
    length = int(text)
    if length > max_bytes:
        raise BodyError(413, f"The request body is over {max_bytes} bytes.")
    body = rfile.read(length) if length else b""
    if len(body) < length:
        raise BodyError(400, "The request body ended before its Content-Length.")
    return body


def _read_chunked(rfile: BinaryIO, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        line = _line(rfile, "a chunk size")
        size_text = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise BodyError(400, "A chunk size is not a hexadecimal number.")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > max_bytes:
            raise BodyError(413, f"The request body is over {max_bytes} bytes.")
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise BodyError(400, "The request body ended in the middle of a chunk.")
        body += chunk
        if _line(rfile, "the end of a chunk").strip():
            raise BodyError(400, "A chunk is longer than its size says.")
    for _ in range(_MAX_TRAILERS):
        if not _line(rfile, "a trailer").strip():
            return bytes(body)
    raise BodyError(400, f"The request has more than {_MAX_TRAILERS} trailer lines.")


def _line(rfile: BinaryIO, what: str) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if not line.endswith(b"\n"):
        problem = "is too long" if len(line) > _MAX_LINE else "is missing"
        raise BodyError(400, f"The chunked body is malformed: {what} {problem}.")
    return line
