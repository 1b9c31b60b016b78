"""Pipeline stages, each writing a subfolder of one run directory.

Examples:
    >>> from tfkit.pipeline import RunDirectory
    >>> RunDirectory("saved_models/run").stage("finetune").name
    '01_finetune'
"""

from tfkit.pipeline.finetune import FinetuneConfig, FinetuneResult, finetune
from tfkit.pipeline.run import RunDirectory

__all__ = ["FinetuneConfig", "FinetuneResult", "RunDirectory", "finetune"]
