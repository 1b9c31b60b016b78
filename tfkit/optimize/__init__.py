"""Model compression stages: pruning (TF-MOT magnitude and m:n sparsity) and quantization-aware training.

Examples:
    >>> from tfkit.optimize import PruningConfig
    >>> PruningConfig(target_sparsity=0.8).final_sparsity
    0.8
    >>> pruned = tfkit.prune(clf, train, val, target_sparsity=0.8, epochs=2)   # doctest: +SKIP
"""

from tfkit.optimize.config import LayerKind, PruningConfig, Schedule
from tfkit.optimize.distillation import DistillConfig, distill, student_from_teacher
from tfkit.optimize.pruning import PrunedClassifier, clone_classifier, prune
from tfkit.optimize.qat import QuantizedClassifier, quantize_aware
from tfkit.optimize.report import LayerSparsity, SizeComparison, SparsityReport

__all__ = ["DistillConfig", "LayerKind", "LayerSparsity", "PrunedClassifier", "PruningConfig", "QuantizedClassifier", "Schedule",
           "SizeComparison", "SparsityReport", "clone_classifier", "distill", "prune", "quantize_aware",
           "student_from_teacher"]
