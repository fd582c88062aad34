"""Parsed and validated GraphQL documents, keyed by their text, bounded by count and size.

Clients send the whole spec document with every payload; parsing and validating it costs
milliseconds, so each distinct text is done once per process. The cache is module level
on purpose: SilvaEngine builds a new engine instance for every request.

A document within the character limit can still be costly: 5,000 one-field operations in
100,000 characters took seconds of CPU to validate (with the GIL held, so a threaded
server answered nobody meanwhile) and some 10 MB of syntax tree. So a document is lexed
first and refused past ``MAX_TOKENS`` tokens, then refused past ``MAX_DEFINITIONS``
definitions or ``MAX_OPERATIONS`` operations, all before graphql-core's rules run. The
cache holds at most ``size`` documents and ``max_tokens`` tokens in all (a tree's memory
follows its tokens, not its characters): the least recently used go first.

Each entry also says whether the document reads the schema (``__schema`` / ``__type``),
so the engine can refuse introspection (setting ``graphql_introspection``) per request
without validating again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, parse, validate
from graphql.language import DocumentNode, Lexer, OperationDefinitionNode, Source, TokenKind
from graphql.validation import NoSchemaIntrospectionCustomRule

__all__ = ["MAX_DEFINITIONS", "MAX_OPERATIONS", "MAX_TOKENS", "DocumentCache"]

# The contract document is 825 tokens, 26 definitions and 17 operations.
MAX_TOKENS = 10_000
MAX_DEFINITIONS = 100
MAX_OPERATIONS = 50

# (document or None when refused, its errors, or when valid the introspection fields it
# selects as errors of NoSchemaIntrospectionCustomRule; whether it introspects).
_Entry = tuple[DocumentNode | None, list[GraphQLError], bool]


class DocumentCache:
    """Thread-safe LRU of ``text -> (document, errors, introspects)`` for one schema."""

    def __init__(
        self, schema: Any, limit_rules: tuple[type, ...], *, size: int, max_tokens: int
    ) -> None:
        self._schema = schema
        self._limit_rules = limit_rules
        self._size = size
        self._max_tokens = max_tokens
        self._entries: OrderedDict[str, tuple[_Entry, int]] = OrderedDict()
        self._tokens = 0  # held by the entries
        self._lock = threading.Lock()

    @property
    def held(self) -> tuple[int, int]:
        """(documents, tokens) in the cache now."""
        with self._lock:
            return len(self._entries), self._tokens

    def get(self, text: str) -> _Entry:
        with self._lock:
            known = self._entries.get(text)
            if known is not None:
                self._entries.move_to_end(text)
                return known[0]
        entry, tokens = self._parse_and_validate(text)
        with self._lock:
            if text not in self._entries:
                self._entries[text] = (entry, tokens)
                self._tokens += tokens
            while self._entries and (
                len(self._entries) > self._size or self._tokens > self._max_tokens
            ):
                _, (_, evicted) = self._entries.popitem(last=False)
                self._tokens -= evicted
        return entry

    def _parse_and_validate(self, text: str) -> tuple[_Entry, int]:
        tokens = _count_tokens(text, MAX_TOKENS)
        if tokens > MAX_TOKENS:
            message = f"The document has more than {MAX_TOKENS} tokens; the limit is {MAX_TOKENS}."
            return (None, [GraphQLError(message)], False), 1  # nothing parsed: nothing kept
        try:
            document = parse(text, max_tokens=MAX_TOKENS)
        except GraphQLSyntaxError as exc:
            if "nested too deeply" not in exc.message:
                return (None, [exc], False), tokens
            # graphql-core caught the recursion itself (how deep the stack already is
            # decides which of the two happens): the same answer either way.
            return (None, [GraphQLError("The document nests too deeply to be read.")], False), 1
        except RecursionError:  # the parser recurses once per nesting level ([[[...]]])
            return (None, [GraphQLError("The document nests too deeply to be read.")], False), 1
        except IndexError:  # graphql-core's lexer reads past a string cut inside an escape
            return (None, [GraphQLError(_CUT_ESCAPE)], False), 1
        error = _count_error(document)
        if error is not None:
            return (None, [error], False), 1
        # The size limits first: an oversized document is refused with their message,
        # before graphql-core's rules spend time on it (or abort with a vaguer one).
        errors = validate(self._schema, document, rules=self._limit_rules) or validate(
            self._schema, document
        )
        if errors:
            return (None, errors, False), tokens
        introspection = validate(self._schema, document, rules=[NoSchemaIntrospectionCustomRule])
        return (document, introspection, bool(introspection)), tokens


_CUT_ESCAPE = "Syntax Error: the document ends inside an escape sequence of a string."


def _count_tokens(text: str, limit: int) -> int:
    """Tokens in ``text``, counting stops past ``limit``; a lexing error ends the count
    (the parser then reports it with its location)."""
    lexer = Lexer(Source(text))
    count = 0
    try:
        while lexer.advance().kind is not TokenKind.EOF:
            count += 1
            if count > limit:
                break
    except (GraphQLSyntaxError, IndexError):
        pass
    return max(count, 1)


def _count_error(document: DocumentNode) -> GraphQLError | None:
    definitions = len(document.definitions)
    if definitions > MAX_DEFINITIONS:
        return GraphQLError(
            f"The document has {definitions} definitions; the limit is {MAX_DEFINITIONS}."
        )
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operations > MAX_OPERATIONS:
        return GraphQLError(
            f"The document has {operations} operations; the limit is {MAX_OPERATIONS}."
        )
    return None
