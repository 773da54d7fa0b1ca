"""The account list: only the rows on screen exist in memory.

A ScrollView whose virtual height is the number of matching accounts; each
line asks a page cache, and a missing page is fetched from the daemon
(one request per page of 100) while a placeholder is drawn. A new search or
filter drops the cache, which keeps at most MAX_PAGES pages, those nearest
the screen. Live changes from other clients reload it; bursts of them
collapse into one refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..keys import ACCOUNTS, TABLE

PAGE = 100
MAX_PAGES = 12  # pages kept (toolong's rule: caches are bounded)
# (key, heading, least width, share of what is left). At 80 columns each column gets its least width and
# the rest goes by share: a date stays whole (2026-12-02), "marketing" fits, names and addresses take the room.
COLUMNS = [("name", "NAME", 14, 0.3), ("email", "EMAIL", 16, 0.34), ("kind", "KIND", 10, 0.0),
           ("status", "STATUS", 16, 0.12), ("created_at", "CREATED", 11, 0.0), ("owner", "OWNER", 8, 0.24)]
STATUS_STYLES = {
    "active": "green", "pending": "yellow", "untested": "cyan", "rejected": "red",
    "smtp_failing": "bold red", "incoming_failing": "red",
}


# The columns `s` sorts by, in turn (the daemon sorts; the owner column has no index, so it is left out).
SORTABLE = ("name", "email", "kind", "status", "created_at")


@dataclass(frozen=True)
class Query:
    query: str = ""
    kind: str = "all"
    status: str | None = None
    sort: str = "name"  # a column key; "-" in front: descending

    def params(self, offset: int) -> dict[str, Any]:
        params: dict[str, Any] = {"query": self.query, "kind": self.kind, "offset": offset, "limit": PAGE,
                                  "sort": self.sort}
        if self.status:
            params["status"] = self.status
        return params


def status_words(row: dict[str, Any]) -> str:
    """The list's status: both directions when both fail (one failing never hides the other), and a
    sender-side refusal (the account's health: a blocklist, SPF/DKIM/DMARC) after it."""
    if row.get("smtp_state") == "failing" and row.get("incoming_state") == "failing":
        words = "smtp+incoming failing"
    else:
        words = str(row.get("status") or "")
    return f"{words}, {row['health']}" if row.get("health") else words


class AccountTable(ScrollView, can_focus=True):
    BINDINGS = TABLE + ACCOUNTS
    DEFAULT_CSS = ""

    cursor: reactive[int] = reactive(0)

    class Highlighted(Message):
        def __init__(self, row: dict[str, Any] | None) -> None:
            super().__init__()
            self.row = row

    class Resized(Message):
        """The table's width changed: the heading above it follows."""

        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    class Loaded(Message):
        """A page arrived: the screen shows the count."""

        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    def __init__(self, fetch, **kwargs) -> None:
        super().__init__(**kwargs)
        self._fetch = fetch  # async (params) -> {"total", "items"}
        self.query_ = Query()
        self.total = 0
        self._pages: dict[int, list[dict[str, Any]]] = {}
        self._loading: set[int] = set()
        self._generation = 0
        self.shown_generation = 0  # the generation whose rows are on screen (benchmarks and tests wait on it)

    # --- data -------------------------------------------------------------

    def reload(self, query: Query | None = None, keep_cursor: bool = False) -> None:
        """Drop every cached page (a new search, or changes elsewhere) and fetch what is on screen."""
        if query is not None:
            self.query_ = query
        self._generation += 1
        self._pages.clear()
        self._loading.clear()
        if not keep_cursor:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        self._ensure_visible_pages()
        self.refresh()

    def _forget_far_pages(self) -> None:
        """Keep at most MAX_PAGES pages: those farthest from what is on screen go first (scrolling through
        100,000 accounts keeps a screenful and its neighbours, not every page it passed)."""
        if len(self._pages) <= MAX_PAGES:
            return
        here = int(self.scroll_offset.y) // PAGE
        for page in sorted(self._pages, key=lambda p: abs(p - here), reverse=True)[:len(self._pages) - MAX_PAGES]:
            del self._pages[page]

    def row(self, index: int) -> dict[str, Any] | None:
        page = self._pages.get(index // PAGE)
        if page is None or index % PAGE >= len(page):
            return None
        return page[index % PAGE]

    @property
    def settled(self) -> bool:
        """The rows of the latest search are on screen."""
        return self.shown_generation == self._generation and not self._loading

    @property
    def current(self) -> dict[str, Any] | None:
        return self.row(self.cursor) if self.total else None

    def _ensure_visible_pages(self) -> None:
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 1)
        for page in {top // PAGE, (top + height) // PAGE, self.cursor // PAGE}:
            if page not in self._pages and page not in self._loading and (page == 0 or page * PAGE < self.total):
                self._loading.add(page)
                self._load(page, self._generation)

    @work(exit_on_error=False, group="pages")
    async def _load(self, page: int, generation: int) -> None:
        try:
            result = await self._fetch(self.query_.params(page * PAGE))
        except BaseException:  # the app says what went wrong (its one error path); the page may be asked again
            self._loading.discard(page)
            raise
        if generation != self._generation:
            return  # a newer search replaced this one
        self._loading.discard(page)
        self._pages[page] = result["items"]
        self._forget_far_pages()
        self.shown_generation = generation
        if result["total"] != self.total:
            self.total = result["total"]
            self.virtual_size = Size(self.size.width, self.total)
            self.cursor = min(self.cursor, max(self.total - 1, 0))
        self.refresh()
        self.post_message(self.Loaded(self.total))
        self.post_message(self.Highlighted(self.current))

    # --- drawing ----------------------------------------------------------

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total)
        self._ensure_visible_pages()
        self.post_message(self.Resized(self.size.width))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._ensure_visible_pages()

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.size.width
        if index >= self.total:
            if self.total == 0 and y == 1 and self.settled:
                hint = "  no accounts match" if self.query_.query or self.query_.kind != "all" or self.query_.status \
                    else "  no accounts yet: press n to add one"
                return Strip([Segment(hint.ljust(width), Style(dim=True))], width)
            return Strip.blank(width, Style())  # a style, never None: NO_COLOR filters every segment
        row = self.row(index)
        selected = index == self.cursor
        base = Style(reverse=True) if selected and self.has_focus else Style(bgcolor="grey23") if selected else Style()
        if row is None:
            return Strip([Segment("…".ljust(width), base + Style(dim=True))], width)
        return Strip(self._segments(row, width, base), width)

    @staticmethod
    def widths(width: int) -> list[int]:
        spare = max(0, width - sum(least for _, _, least, _ in COLUMNS))
        sizes = [least + int(spare * share) for _, _, least, share in COLUMNS]
        sizes[-1] = max(4, width - sum(sizes[:-1]))
        return sizes

    def _segments(self, row: dict[str, Any], width: int, base: Style) -> list[Segment]:
        out = []
        for (key, *_), size in zip(COLUMNS, self.widths(width)):
            value = row.get(key) or ""
            if key == "created_at":
                value = value[:10]
            elif key == "owner":
                value = f"{value}{' (shared)' if row.get('shared') else ''}"
            elif key == "status":
                value = status_words(row)
            text = str(value).replace("\r", " ").replace("\n", " ")
            # Terminal cells, not len(): a Japanese name is two cells a character and skewed every column.
            if cell_len(text) > size - 1:
                text = set_cell_size(text, size - 2) + "…"
            style = base
            if key == "status":
                style = base + Style.parse("bold yellow" if row.get("health") else STATUS_STYLES.get(row["status"], ""))
            out.append(Segment(set_cell_size(text, size), style))
        return out

    # --- movement ---------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
        elif new >= self.scroll_offset.y + self.size.height:
            self.scroll_to(y=new - self.size.height + 1, animate=False)
        self._ensure_visible_pages()
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    def action_cursor(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 1, 1))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(self.total - 1, 0)

    def on_click(self, event) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < self.total:
            self.cursor = index
