"""Texts longer than a DynamoDB item holds, kept in parts of their own table.

A DynamoDB item stops at 400 KB, and a reply, a user's question or a function's output
can be longer (a quoted tool output; CJK text at 3 bytes a character). Such a text is
written as numbered parts in the ``<prefix>value_parts`` table first, then its record is
written with the text's beginning and a pointer (``<attribute>_parts``: where the parts
are, how many, and the text's SHA-256), so that a record is never written pointing at
parts that are not there. Reads put the text back together; callers see the whole text.

The parts of one attribute of one record always have the same key (derived from the
record's table, keys and attribute name), so writing the same text again (a repeated
record of a run's end) rewrites the same items instead of leaving copies. Two writers of
*different* long texts into one attribute at the same moment could interleave their
parts: the digest catches that on read (an error, never a wrong text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from pynamodb.models import Model

from ..errors import UpstreamError

__all__ = ["INLINE_BYTES", "PART_BYTES", "LargeTexts", "pointer_name"]

# A text up to this size stays in its record: three such texts (a tool call's arguments,
# output and error) and the keys still fit in one 400 KB item.
INLINE_BYTES = 100 * 1024
# Each part item: the text and a short key, well under 400 KB.
PART_BYTES = 300 * 1024
# How much of a long text its record keeps (messageList's ``message`` filter sees it).
_HEAD_BYTES = 16 * 1024
_POINTER_SUFFIX = "_parts"


def pointer_name(attribute: str) -> str:
    """The record's attribute that points at ``attribute``'s parts."""
    return f"{attribute}{_POINTER_SUFFIX}"


def _encoded(text: str) -> bytes:
    # surrogatepass: a lone surrogate is measured and split like any other character.
    return text.encode("utf-8", "surrogatepass")


def _decoded(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _cut(data: bytes, limit: int) -> int:
    """The largest index <= limit that does not split a UTF-8 character."""
    if limit >= len(data):
        return len(data)
    index = limit
    while index > 0 and (data[index] & 0xC0) == 0x80:  # a continuation byte
        index -= 1
    return index


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = start + _cut(data[start:], size)
        yield data[start:end]
        start = end


class LargeTexts:
    """Spills and restores long text attributes of the records of one table set."""

    def __init__(self, parts: type[Model]) -> None:
        self._parts = parts

    def spill(
        self, record: type[Model], keys: tuple[str, str], attribute: str, text: str
    ) -> tuple[str, dict[str, Any] | None]:
        """(what the record holds, its pointer or None when the text fits in the record).

        The parts are written before this returns: write the record after it.
        """
        data = _encoded(text)
        if len(data) <= INLINE_BYTES:
            return text, None
        head_end = _cut(data, _HEAD_BYTES)
        owner = self._owner(record, keys, attribute)
        count = 0
        with self._parts.batch_write() as batch:
            for count, piece in enumerate(_pieces(data[head_end:], PART_BYTES), start=1):
                batch.save(self._parts(owner, count - 1, text=_decoded(piece)))
        # A longer text written here before left parts past this one's: none may outlive
        # the text they belonged to (a rewrite may be a redaction).
        self._delete(owner, self._parts.part >= count)
        pointer = {
            "owner": owner,
            "parts": count,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
        return _decoded(data[:head_end]), pointer

    def restore(self, values: dict[str, Any]) -> dict[str, Any]:
        """The record's values with every spilled text put back together."""
        for name in [n for n in values if n.endswith(_POINTER_SUFFIX)]:
            attribute = name[: -len(_POINTER_SUFFIX)]
            pointer = values.pop(name)
            values[attribute] = self._joined(values.get(attribute) or "", pointer)
        return values

    def discard(self, record: type[Model], keys: tuple[str, str], attribute: str) -> None:
        """Delete every part of one attribute of one record (when the record goes, or
        its text is rewritten short)."""
        self._delete(self._owner(record, keys, attribute))

    def _delete(self, owner: str, condition: Any = None) -> None:
        parts = list(self._parts.query(owner, condition, attributes_to_get=["owner", "part"]))
        if not parts:
            return
        with self._parts.batch_write() as batch:
            for part in parts:
                batch.delete(part)

    def _joined(self, head: str, pointer: dict[str, Any]) -> str:
        count = int(pointer["parts"])
        pieces = {
            int(item.part): item.text
            for item in self._parts.query(
                pointer["owner"], self._parts.part < count, consistent_read=True
            )
        }
        text = head + "".join(pieces.get(number, "") for number in range(count))
        if len(pieces) != count or hashlib.sha256(_encoded(text)).hexdigest() != pointer["sha256"]:
            raise UpstreamError(
                "A long text's parts in the value_parts table do not match its record "
                "(it was being rewritten, or parts were deleted); read it again."
            )
        return text

    @staticmethod
    def _owner(record: type[Model], keys: tuple[str, str], attribute: str) -> str:
        # Record keys may be long (up to 2 KB): a digest keeps the parts' key short.
        name = "\x00".join((record.Meta.table_name, *keys, attribute))
        return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
