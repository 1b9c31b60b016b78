"""What a run shows a person: TensorBoard summaries beside each stage's logs, and ``report.html``.

Examples:
    >>> from tfkit.reporting import write_run_report
    >>> write_run_report("saved_models/bbc_news")     # doctest: +SKIP
    PosixPath('saved_models/bbc_news/report.html')
"""

from tfkit.reporting.html import write_run_report
from tfkit.reporting.tensorboard import log_image, log_summaries, log_text

__all__ = ["log_image", "log_summaries", "log_text", "write_run_report"]
