"""Helpers for tfkit's tests and for users testing their own pipelines.

Examples:
    >>> from tfkit.testing import tiny_tokenizer
    >>> tiny_tokenizer()("good film")["input_ids"]
    [2, 5, 27, 3]
"""

from tfkit.testing.tiny import FAMILY_NAMES, tiny_hf_config, tiny_tokenizer, write_tiny_checkpoint

__all__ = ["FAMILY_NAMES", "tiny_hf_config", "tiny_tokenizer", "write_tiny_checkpoint"]
