"""Checks of a page's HTML structure that the outside audits (vnu, pa11y, Lighthouse) make too,
here fast enough for every test run."""

import re
from html.parser import HTMLParser

# A valid HTML global date and time: whole seconds (or up to 3 decimals), with a zone.
VALID_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:?\d\d)$")


class _Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings: list[int] = []
        self.times: list[str] = []
        self.metas: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.tables: list[list[list[tuple[str, int]]]] = []  # table → rows → (cell, colspan)
        self._open_tables: list[list[list[tuple[str, int]]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "time" and "datetime" in attrs:
            self.times.append(attrs["datetime"])
        elif tag == "meta" and "name" in attrs:
            self.metas[attrs["name"]] = attrs.get("content", "")
        elif tag == "link" and "rel" in attrs:
            self.links[attrs["rel"]] = attrs.get("href", "")
        elif tag == "table":
            self._open_tables.append([])
        elif tag == "tr" and self._open_tables:
            self._open_tables[-1].append([])
        elif tag in ("td", "th") and self._open_tables and self._open_tables[-1]:
            self._open_tables[-1][-1].append((tag, int(attrs.get("colspan") or 1)))

    def handle_endtag(self, tag):
        if tag == "table" and self._open_tables:
            self.tables.append(self._open_tables.pop())


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def heading_problems(html: str) -> list[str]:
    """The first heading must be the h1, and no heading may skip a level after it."""
    levels = outline(html).headings
    problems = []
    if not levels or levels[0] != 1:
        problems.append(f"the first heading is h{levels[0] if levels else '-'}, not h1")
    for before, after in zip(levels, levels[1:], strict=False):
        if after > before + 1:
            problems.append(f"h{after} follows h{before}")
    return problems


def table_problems(html: str) -> list[str]:
    """Every row of a table spans the same columns; a row of data has one header at most."""
    problems = []
    for number, rows in enumerate(outline(html).tables, start=1):
        widths = {sum(span for _cell, span in row) for row in rows}
        if len(widths) > 1:
            problems.append(f"table {number}: rows span different numbers of columns {widths}")
        cells = [[cell for cell, _span in row] for row in rows]
        if any(row.count("th") > 1 and "td" in row for row in cells):
            problems.append(f"table {number}: a row of data with two header cells")
    return problems
