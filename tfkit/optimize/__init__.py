"""Model compression stages: pruning (TF-MOT magnitude and m:n sparsity).

Examples:
    >>> from tfkit.optimize import PruningConfig
    >>> PruningConfig(target_sparsity=0.8).final_sparsity
    0.8
    >>> pruned = tfkit.prune(clf, train, val, target_sparsity=0.8, epochs=2)   # doctest: +SKIP
"""

from tfkit.optimize.config import LayerKind, PruningConfig, Schedule
from tfkit.optimize.pruning import PrunedClassifier, clone_classifier, prune
from tfkit.optimize.report import LayerSparsity, SizeComparison, SparsityReport

__all__ = ["LayerKind", "LayerSparsity", "PrunedClassifier", "PruningConfig", "Schedule", "SizeComparison",
           "SparsityReport", "clone_classifier", "prune"]
