"""The one module that imports TensorFlow and Keras 2 (``tf_keras``).

transformers' TF classes and TF-MOT need Keras 2. ``TF_USE_LEGACY_KERAS`` must
be set before TensorFlow is first imported, so every tfkit module takes
``tf`` and ``keras`` from here instead of importing them itself. In the ``tfkit``
command process (not on ``import tfkit``) it first quiets TensorFlow's logging:
see :mod:`tfkit.cli.quiet`.

Examples:
    >>> from tfkit._keras import keras, tf
    >>> keras.__version__.startswith("2.")
    True
"""

from __future__ import annotations

import os

from tfkit.cli import quiet as _quiet  # standard library only

_quiet.install()  # the `tfkit` command only, before TensorFlow loads: hides its C++ log lines (tfkit/cli/quiet.py)
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["keras", "tf"]
