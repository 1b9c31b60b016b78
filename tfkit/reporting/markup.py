"""Small HTML builders for the run report: escaped tables, embedded PNG figures, sections.

Examples:
    >>> table(["metric", "value"], [["accuracy", 0.91234]]).count("<td>")
    2
    >>> image(b"", "nothing to show")
    ''
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

from tfkit._io import pyplot


def section(name: str, title: str, content: str) -> str:
    """``<section id=name>`` with an ``<h2>`` title."""
    return f'<section id="{name}">\n<h2>{html.escape(title)}</h2>\n{content}\n</section>'


class Raw(str):
    """Markup a table cell holds as it is (not escaped), e.g. a sparsity bar."""


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], highlight: int | None = None,
          css_class: str | None = None) -> str:
    """An HTML table; cells are formatted with :func:`cell` and escaped (except :class:`Raw` ones).

    ``highlight`` marks one row (e.g. the best trial); ``css_class`` styles the table.

    Examples:
        >>> table(["a"], [[1]])
        '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    lines = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{value if isinstance(value, Raw) else html.escape(cell(value))}</td>" for value in row)
        lines.append(f'<tr class="best">{cells}</tr>' if i == highlight else f"<tr>{cells}</tr>")
    opening = f'<table class="{html.escape(css_class)}">' if css_class else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def cell(value: Any) -> str:
    """A table cell's text: floats to 4 significant digits, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def image(png: bytes | Path | None, alt: str, width: int | None = None) -> str:
    """An ``<img>`` with the PNG embedded as a data URI, shown ``width`` pixels wide (empty without an image)."""
    if isinstance(png, Path):
        png = png.read_bytes() if png.is_file() else None
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    style = f' style="width:{width}px"' if width else ""
    return f'<figure><img alt="{html.escape(alt)}"{style} src="data:image/png;base64,{data}"><figcaption>' \
           f"{html.escape(alt)}</figcaption></figure>"


def figure_png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (closed afterwards)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    pyplot().close(fig)
    return buffer.getvalue()


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when the file is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
