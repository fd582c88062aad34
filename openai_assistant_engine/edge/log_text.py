"""Values from a request, made safe to put in a log line.

A client chooses its operation name, path and headers; written verbatim, a newline or a
terminal escape in one of them would forge a second log line or rewrite the screen. Every
character that is not printable (controls, line and paragraph separators, lone
surrogates) is written as its escape, and long values are cut: one request, one line.
"""

from __future__ import annotations

__all__ = ["single_line"]

_DEFAULT_LIMIT = 200


def single_line(value: object, limit: int = _DEFAULT_LIMIT) -> str:
    """``value`` as text on one line, printable characters only, at most ``limit`` long."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
