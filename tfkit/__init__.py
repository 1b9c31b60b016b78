"""tfkit: from a pretrained BERT-family checkpoint and labelled text to a small, fast model.

Examples:
    >>> import tfkit
    >>> data = tfkit.data.from_lists(["great film", "dull"], ["pos", "neg"])
    >>> clf = tfkit.TextClassifier.from_pretrained(tfkit.models.default_checkpoint(),
    ...                                            labels=data.labels)   # doctest: +SKIP
"""

__version__ = "0.1.0"

from tfkit import _keras  # noqa: F401,E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfkit import data, errors, evaluation, models  # noqa: E402
from tfkit import export as _export_package  # noqa: E402
from tfkit._deprecation import deprecated_alias  # noqa: E402
from tfkit.data import TaskType, TextDataset  # noqa: E402
from tfkit.export.bench import bench  # noqa: E402
from tfkit.export.exporter import export  # noqa: E402  (the stage: tfkit.export(...); the package stays importable)
from tfkit.models import ClassifierConfig, TextClassifier, TrainingConfig  # noqa: E402
from tfkit.models.lora import LoraClassifier, LoraConfig, load_lora, with_lora  # noqa: E402

# Every stage is a plain function on this namespace: tfkit.tune(...), tfkit.prune(...), tfkit.export(...),
# tfkit.bench(...). Until 0.2, the old attribute spellings keep working: tfkit.export.<name> for the export
# package's names (import them from tfkit.export instead) and tfkit.export.bench / tfkit.tune.search (warn).
for _name in _export_package.__all__:
    if _name not in ("export", "bench"):
        setattr(export, _name, getattr(_export_package, _name))
export.bench = deprecated_alias(bench, "tfkit.export.bench(...)", "tfkit.bench(...)")
# `import tfkit.export.config as c` resolves submodules through the attribute's __name__: keep it the package's.
export.__name__ = "tfkit.export"


def __getattr__(name: str):
    # Keras Tuner imports Keras 3: load it only when tuning is used.
    if name in ("tune", "tuning"):
        import tfkit.tuning as tuning

        if name == "tuning":
            return tuning
        tuning.tune.search = tuning.search  # deprecated alias (warns)
        return tuning.tune
    # TF-MOT takes a second and a half to import: load it only when pruning is used.
    if name in ("optimize", "prune", "quantize_aware", "distill", "student_from_teacher"):
        import tfkit.optimize as optimize

        return {"optimize": optimize, "prune": optimize.prune, "quantize_aware": optimize.quantize_aware,
                "distill": optimize.distill, "student_from_teacher": optimize.student_from_teacher}[name]
    raise AttributeError(f"module 'tfkit' has no attribute {name!r}")


__all__ = [
    "ClassifierConfig",
    "LoraClassifier",
    "LoraConfig",
    "TaskType",
    "TextClassifier",
    "TextDataset",
    "TrainingConfig",
    "bench",
    "data",
    "distill",
    "errors",
    "evaluation",
    "export",
    "load_lora",
    "models",
    "optimize",
    "prune",
    "quantize_aware",
    "student_from_teacher",
    "tune",
    "with_lora",
]
