"""Reading an OpenAI listing newest first until the wanted item shows.

The newest message is nearly always the one asked for, so the first page is small; when
it holds none (a role that is rare among recent messages), the next pages are full ones:
a long thread costs a request per 100 items, not per 10.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["FIRST_PAGE", "NEXT_PAGES", "newest_first"]

FIRST_PAGE = 10
NEXT_PAGES = 100  # OpenAI's largest page


def newest_first(list_page: Callable[..., Any]) -> Iterator[Any]:
    """Every item of a listing, page by page. ``list_page(limit=..., after=...)`` asks
    OpenAI for one page (the listing's own arguments already bound, order descending)."""
    page = list_page(limit=FIRST_PAGE)
    while True:
        yield from page.data
        if not page.data or not page.has_next_page():
            return
        page = list_page(limit=NEXT_PAGES, after=page.data[-1].id)
