"""``report.html``: one static page per run folder, for a person to read after the run.

Built only from what the stages wrote (``stage.json``, the models' ``tfkit.json``,
``report/``, ``export.json``, bench folders), so it works on any finished run
and on a copied or moved one; figures are embedded as PNG data URIs, so the file
can be mailed or attached on its own. Sections, each with a stable ``id``
(``overview``, ``training``, ``evaluation``, ``tuning``, ``pruning``, ``export``);
a stage that did not run leaves its section out.

Examples:
    >>> write_run_report("saved_models/bbc_news")       # doctest: +SKIP
    PosixPath('saved_models/bbc_news/report.html')
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

from tfkit._io import atomic_write_text
from tfkit.errors import ReportError
from tfkit.reporting import sections
from tfkit.reporting.markup import section

REPORT = "report.html"
# Section id -> builder of (title, content); a builder returns empty content for a stage that did not run.
SECTIONS = (("training", sections.training), ("evaluation", sections.evaluation),
            ("tuning", sections.tuning), ("pruning", sections.pruning), ("export", sections.export))


def write_run_report(run_dir: str | os.PathLike) -> Path:
    """Writes ``<run_dir>/report.html`` from the finished stages' outputs and returns its path.

    Raises:
        ReportError: ``run_dir`` holds no stage folder with a ``stage.json``.

    Examples:
        >>> write_run_report("saved_models/run").name      # doctest: +SKIP
        'report.html'
    """
    run_dir = Path(run_dir)
    stages = sections.read_stages(run_dir)
    if not stages:
        raise ReportError(f"Expected a run folder with finished stages (NN_<stage>/stage.json). Received: "
                          f"run_dir='{run_dir}', which has none. Run `tfkit train` (or the demo) into it first.")
    built = [(name, *build(stages)) for name, build in SECTIONS]
    built = [("overview", *sections.overview(run_dir, stages))] + [item for item in built if item[2]]
    body = [section(name, title, content) for name, title, content in built]
    nav = " · ".join(f'<a href="#{name}">{html.escape(title)}</a>' for name, title, _ in built)
    page = _PAGE.format(title=html.escape(f"tfkit run report: {run_dir.resolve().name}"), style=_STYLE, nav=nav,
                        generated=html.escape(time.strftime("%Y-%m-%d %H:%M")), body="\n".join(body))
    return atomic_write_text(run_dir / REPORT, page)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header><h1>{title}</h1><nav>{nav}</nav><p class="muted">Generated {generated} by tfkit from the run folder's
stage records. TensorBoard: <code>tensorboard --logdir &lt;this folder&gt;</code>.</p></header>
<main>
{body}
</main>
</body>
</html>
"""

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2430;
       background: #f5f6f8; }
header { background: #1f3a5f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header a { color: #cfe3ff; } header .muted { color: #b8c7dc; }
main { padding: 8px 32px 40px; max-width: 1150px; }
section { background: #fff; border: 1px solid #dde2ea; border-radius: 8px; padding: 12px 20px 16px;
          margin: 18px 0; overflow-x: auto; }
h2 { font-size: 18px; margin: 6px 0 10px; border-bottom: 2px solid #e8ecf2; padding-bottom: 6px; }
h3 { font-size: 15px; margin: 14px 0 6px; color: #2c4a75; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; }
th, td { border: 1px solid #dde2ea; padding: 3px 8px; text-align: right; white-space: nowrap; }
table.wrap td { white-space: normal; } th { background: #eef2f7; } td:first-child, th:first-child { text-align: left; }
tr.best td { background: #e5f4e7; font-weight: 600; }
figure { display: inline-block; margin: 6px 12px 6px 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #e3e7ee; }
figcaption { font-size: 12px; color: #5b6575; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.muted { color: #5b6575; font-size: 13px; }
.bar { background: #e8ecf2; width: 120px; height: 10px; display: inline-block; vertical-align: middle; }
.bar span { background: #3f7bd1; height: 10px; display: block; }
header code { background: #2e5282; color: #fff; }
details summary { cursor: pointer; font-weight: 600; color: #2c4a75; margin: 10px 0 4px; }
code, pre { background: #f0f2f5; padding: 1px 4px; border-radius: 3px; font-size: 12px; }
pre { padding: 8px; white-space: pre-wrap; }
"""
