"""Loading labelled text and turning it into ``tf.data`` pipelines.

Examples:
    >>> import tfkit
    >>> data = tfkit.data.from_lists(["great film", "dull"], ["pos", "neg"])
    >>> data.labels
    ('neg', 'pos')
"""

from tfkit.data.builtin import bbc_news, sst2
from tfkit.data.dataset import TextDataset, from_lists, load
from tfkit.data.task import TaskType

__all__ = ["TaskType", "TextDataset", "bbc_news", "from_lists", "load", "sst2"]
