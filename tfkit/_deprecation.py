"""Old spellings that keep working for one release, with a ``DeprecationWarning`` naming the new one.

Examples:
    >>> import warnings
    >>> def new(x): return x
    >>> old = deprecated_alias(new, "tfkit.old", "tfkit.new")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old(1), caught[0].category.__name__
    (1, 'DeprecationWarning')
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable


def warn(old: str, new: str) -> None:
    """Warns that ``old`` is deprecated in favour of ``new`` (pointing at the caller's caller)."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}.", DeprecationWarning,
                  stacklevel=3)


def deprecated_alias(function: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    """``function`` under an old name: same behaviour, plus a DeprecationWarning."""

    @functools.wraps(function)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn(old, new)
        return function(*args, **kwargs)

    return alias


def renamed_argument(kwargs: dict[str, Any], old: str, new: str, where: str, value: Any = None) -> Any:
    """``value`` (the new argument), or the deprecated ``old`` popped from ``kwargs`` (with a warning)."""
    if old not in kwargs:
        return value
    if value is not None:
        from tfkit.errors import ConfigError

        raise ConfigError(f"Expected one of {new}= and its deprecated spelling {old}=. Received: both. Pass {new}= only.")
    warn(f"{where}({old}=...)", f"{where}({new}=...)")
    return kwargs.pop(old)
