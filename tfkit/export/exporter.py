"""``tfkit.export``: SavedModel and TFLite files of a classifier, each one run and checked before it is kept.

Output layout (written to a temporary folder and renamed into place)::

    <output>/export.json                 config, every variant's checks, rejected variants
    <output>/report.md                   the same as a table
    <output>/checksums.json              SHA-256 and size of every other file (``tfkit verify``)
    <output>/saved_model/                serving_default (token ids) + classify_text (raw strings)
    <output>/saved_model.json            its manifest; labels.txt and vocab.txt sit beside both formats
    <output>/tflite/model_<variant>.tflite and model_<variant>.json (manifest), labels.txt, vocab.txt

Examples:
    >>> arts = tfkit.export(clf, "saved_models/reviews/export", formats=["saved_model", "tflite"],
    ...                     quantization=["float32", "dynamic_int8", "full_int8"],
    ...                     train=train, validation=val)                   # doctest: +SKIP
    >>> print(arts.report())                                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from tfkit._deprecation import renamed_argument
from tfkit._io import atomic_directory, atomic_write_json
from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError
from tfkit.export.artifacts import ExportedArtifacts, Variant
from tfkit.export.config import DEFAULT_TOLERANCES, ExportConfig, Format, Quantization
from tfkit.export.edge import EdgeFileError, edge_reason, mediapipe_variant, raw_text_variant
from tfkit.export.graph import ServingModule, wordpiece_vocab
from tfkit.export.manifest import manifest_for, write_side_files
from tfkit.export.op_costs import op_family_costs
from tfkit.export.ops import op_table, require_integer_only
from tfkit.export.runtime import LiteRTModel, SavedModelRunner, smoke_test
from tfkit.export.selective import selective_full_int8
from tfkit.export.tflite import convert, representative_samples
from tfkit.export.verify import ExportValidationError, ValidationSet, evaluate_model, verify
from tfkit.integrity import write_checksums

DEFAULT_QUANTIZATION = ("float32", "dynamic_int8")


def export(
    classifier: Any,
    output_dir: str | os.PathLike,
    formats: Any = ("saved_model", "tflite"),
    quantization: Any = DEFAULT_QUANTIZATION,
    train: TextDataset | None = None,
    validation: TextDataset | None = None,
    config: ExportConfig | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    **options: Any,
) -> ExportedArtifacts:
    """Exports ``classifier`` and verifies every file against it.

    Args:
        classifier: a :class:`~tfkit.TextClassifier` or the path of a saved one.
        output_dir: the export folder (must not exist unless ``overwrite``).
        formats: ``saved_model`` and/or ``tflite``.
        quantization: TFLite variants: ``float32``, ``float16``, ``dynamic_int8``, ``full_int8``, ``int16x8``;
            for a quantization-aware classifier (:func:`tfkit.quantize_aware`) ``qat_int8``, its default:
            integer-only, checked op by op (:mod:`tfkit.export.ops`).
        train: training examples to calibrate ``full_int8``/``int16x8``
            (``representative_data=`` is the deprecated spelling).
        validation: labelled examples every file is run on (``validate_on=``, deprecated); accuracy drops beyond
            ``accuracy_budget`` points reject a variant (unless ``force``).
        config: an :class:`ExportConfig` (then ``formats``/``quantization``/``options`` are ignored).
        **options: further :class:`ExportConfig` fields.

    Raises:
        ExportValidationError: a float file disagrees with the Keras model beyond tolerance.
        IntegerOnlyError: the ``qat_int8`` file still holds float ops (nothing is written).
    """
    from tfkit.models.text_classifier import TextClassifier

    representative_data = renamed_argument(options, "representative_data", "train", "tfkit.export", train)
    validate_on = renamed_argument(options, "validate_on", "validation", "tfkit.export", validation)
    if not isinstance(classifier, TextClassifier):
        classifier = TextClassifier.load(classifier, precision="float32")
    config = config or ExportConfig(formats=formats, quantization=quantization, **options)
    if classifier.quantization_aware and tuple(q.value for q in config.quantization) == DEFAULT_QUANTIZATION:
        # the default variants mean "the usual files": for a quantization-aware classifier, its integer-only one
        config = dataclasses.replace(config, quantization=(Quantization.QAT_INT8,))
    _check_qat(classifier, config)
    check_data = validate_on if validate_on is not None else representative_data
    if check_data is None:
        raise ConfigError("Export verifies every file on examples. Received: validation=None and "
                          "train=None. Pass validation=<labelled TextDataset>.")
    if any(q.calibrated for q in config.quantization) and Format.TFLITE in config.formats \
            and representative_data is None:
        raise ConfigError("full_int8 and int16x8 are calibrated on training examples. Received: "
                          "train=None. Pass train=<training TextDataset>.")
    float_classifier = float32_copy(classifier)
    raw = config.raw_strings and wordpiece_vocab(float_classifier.tokenizer) is not None
    if raw and check_data.text_pairs is not None:
        raw = False  # the raw-string signature takes one text: a pair model gets none, and says why
        log(f"  {PAIR_NO_RAW_STRINGS}")
    module = ServingModule(float_classifier, raw_strings=raw, batch_size=config.batch_size)
    edge_module = module
    if not raw and (config.raw_text or config.mediapipe) and check_data.text_pairs is None \
            and wordpiece_vocab(float_classifier.tokenizer) is not None:  # raw_strings=False: no SavedModel signature,
        edge_module = ServingModule(float_classifier, raw_strings=True)  # but the app files still tokenise inside
    log(f"Running the Keras model on {min(len(check_data), config.validation_samples or len(check_data))} "
        "validation examples")
    validation = ValidationSet.from_dataset(module, check_data, config.validation_samples, config.seed,
                                            labelled=validate_on is not None)
    samples = None
    if representative_data is not None:
        rep = representative_data.take(min(config.representative_samples, len(representative_data)), seed=config.seed)
        samples = representative_samples(module, list(rep.texts), list(rep.text_pairs) if rep.text_pairs else None)

    variants: list[Variant] = []
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        if Format.SAVED_MODEL in config.formats:
            variants.append(_saved_model(module, tmp, validation, check_data, config, log))
        if Format.TFLITE in config.formats:
            texts = list(rep.texts) if representative_data is not None else None
            for quantization_ in config.quantization:
                variant = _tflite(module, tmp, quantization_, samples, validation, config, log)
                variants.append(variant)
                variants += _edge_files(edge_module, tmp, quantization_, variant, samples, texts, validation,
                                        config, check_data.text_pairs is not None, log)
        if config.web:
            _web_page(tmp, Path(output_dir), variants, float_classifier, log)
        artifacts = ExportedArtifacts(Path(output_dir), config, tuple(variants), validation.keras_score())
        atomic_write_json(tmp / "export.json", artifacts.to_dict())
        (tmp / "report.md").write_text(artifacts.report(), encoding="utf-8")
        write_checksums(tmp)  # over the temporary folder, just before the rename
    log(f"Export written to {output_dir}")
    return artifacts


def _check_qat(classifier: Any, config: ExportConfig) -> None:
    """``qat_int8`` needs a quantization-aware classifier, and such a classifier exports only ``qat_int8``."""
    if Format.TFLITE not in config.formats:
        return
    asked = {q.value for q in config.quantization}
    if classifier.quantization_aware and asked != {Quantization.QAT_INT8.value}:
        raise ConfigError(
            f"Expected quantization=['qat_int8'] for a quantization-aware classifier. Received: {sorted(asked)}. "
            "Its fake-quantized weights are meant for the integer-only file; export the float classifier QAT "
            "started from for float32/float16/dynamic_int8/full_int8.")
    if not classifier.quantization_aware and Quantization.QAT_INT8.value in asked:
        raise ConfigError(
            "Expected a quantization-aware classifier for quantization='qat_int8'. Received: a float "
            f"{type(classifier).__name__}. Train one with tfkit.quantize_aware(clf, train, validation) "
            "(CLI: tfkit export --qat), then export it.")


PAIR_NO_RAW_STRINGS = (
    "classify_text (raw strings) is not written for sentence-pair models: it takes one text per example. "
    "Call serving_default with the token ids of tokenizer(text, text_pair) instead.")


def float32_copy(classifier: Any) -> Any:
    """The classifier computing in float32 (a mixed-precision model is reloaded in float32)."""
    from tfkit.models.config import Precision
    from tfkit.models.text_classifier import TextClassifier

    if classifier.config.precision is Precision.FLOAT32:
        return classifier
    with tempfile.TemporaryDirectory() as folder:
        classifier.save_pretrained(Path(folder) / "model")
        return TextClassifier.load(Path(folder) / "model", precision="float32")


def _saved_model(module: ServingModule, tmp: Path, validation: ValidationSet, check_data: TextDataset,
                 config: ExportConfig, log: Callable[[str], None]) -> Variant:
    from tfkit._keras import tf

    log("Writing the SavedModel")
    path = tmp / "saved_model"
    tf.saved_model.save(module, str(path), signatures=module.signatures())
    runner = SavedModelRunner(path)
    check = verify(runner, validation, DEFAULT_TOLERANCES[Quantization.FLOAT32], "saved_model")
    extra: dict[str, Any] = {"signatures": sorted(module.signatures())}
    if module.tokenizer is None and config.raw_strings and check_data.text_pairs is not None:
        extra["classify_text"] = PAIR_NO_RAW_STRINGS
    if module.tokenizer is not None:
        extra["raw_string_agreement"] = raw_string_agreement(runner, module, check_data, config)
        if extra["raw_string_agreement"] < 1.0:
            log(f"  classify_text agrees with the Python tokenizer path on {extra['raw_string_agreement']:.4f} "
                "of the examples")
    write_side_files(tmp, module)
    manifest = manifest_for(module, path, "saved_model", None, check, extra)
    atomic_write_json(tmp / "saved_model.json", manifest)
    return Variant("saved_model", "saved_model", str(path.relative_to(tmp)), manifest["size_bytes"], check,
                   "accepted", extra)


def raw_string_agreement(runner: SavedModelRunner, module: ServingModule, data: TextDataset,
                         config: ExportConfig) -> float:
    """Fraction of examples where ``classify_text`` on the raw string predicts what the Keras model
    predicts from the Python tokenizer's ids."""
    import numpy as np

    if data.text_pairs is not None:
        raise ConfigError(f"Expected single-text data for the raw-string check. Received: sentence pairs. "
                          f"{PAIR_NO_RAW_STRINGS}")
    subset = data if config.validation_samples is None or config.validation_samples >= len(data) \
        else data.take(config.validation_samples, seed=config.seed)
    texts = list(subset.texts)
    reference = module.classifier.predict_logits(texts)
    ours = np.concatenate([runner.classify_text(texts[i:i + 64])["logits"] for i in range(0, len(texts), 64)])
    if module.task.is_classification and ours.shape[1] > 1:
        return float(np.mean(ours.argmax(1) == reference.argmax(1)))
    return float(np.mean(np.abs(ours - reference) < 1e-3))


def _tflite(module: ServingModule, tmp: Path, quantization: Quantization, samples: Any,
            validation: ValidationSet, config: ExportConfig, log: Callable[[str], None]) -> Variant:
    folder = tmp / "tflite"
    folder.mkdir(exist_ok=True)
    write_side_files(folder, module)
    name = f"model_{quantization.value}.tflite"
    path = folder / name
    log(f"Converting {name}")
    path.write_bytes(convert(module, quantization, samples))
    smoke_test(path)
    tolerance = DEFAULT_TOLERANCES[quantization]
    bucket = config.bucket if quantization.padding_safe else None
    model = LiteRTModel(path, config.num_threads, bucket=bucket)
    extra: dict[str, Any] = {"padding_safe": quantization.padding_safe, "bucket": bucket}
    if quantization in (Quantization.FLOAT32, Quantization.FLOAT16):
        check = verify(model, validation, tolerance, name)
    else:
        check = evaluate_model(model, validation, name)
    extra["integer_only"] = op_table(path).summary()
    if quantization is Quantization.QAT_INT8:
        require_integer_only(path, name)  # IntegerOnlyError: nothing of this export is kept
        if config.op_costs and validation.targets is not None:
            log("  qat_int8: measuring what each op family costs in int8 (that family kept in float)")
            extra["op_family_costs"] = op_family_costs(module, quantization, samples, validation, check,
                                                       config.num_threads, log)
    if quantization is Quantization.FULL_INT8:
        log("  full_int8: measuring all-int8 and the selective steps (some ops kept in float); keeping the "
            "fastest within the accuracy budget")
        flatbuffer, diagnosis, check = selective_full_int8(module, samples, validation, config.accuracy_budget,
                                                           config.num_threads, log,
                                                           plain=(path.read_bytes(), check))
        path.write_bytes(flatbuffer)
        smoke_test(path)
        extra["selective"] = diagnosis
        extra["integer_only"] = op_table(path).summary()
    status = "accepted"
    if not _within_budget(check, config) or check.agreement < tolerance.min_agreement:
        status = "forced" if config.force else "rejected"
        log(f"  {name}: accuracy drop {check.drop_points} points, agreement {check.agreement:.4f} "
            f"(budget {config.accuracy_budget} points): {status}")
    manifest = manifest_for(module, path, "tflite", quantization, check, {**extra, "status": status})
    if status == "rejected":
        path.unlink()
        return Variant(quantization.value, "tflite", None, manifest["size_bytes"], check, status, extra)
    atomic_write_json(path.with_suffix(".json"), manifest)
    return Variant(quantization.value, "tflite", str(path.relative_to(tmp)), manifest["size_bytes"], check,
                   status, extra)


def _edge_files(module: ServingModule, tmp: Path, quantization: Quantization, ids: Variant, samples: Any,
                texts: list[str] | None, validation: ValidationSet, config: ExportConfig, pairs: bool,
                log: Callable[[str], None]) -> list[Variant]:
    """The raw-text and MediaPipe files of an accepted token-id variant (:mod:`tfkit.export.edge`); the
    reason goes into ``ids.extra["edge_files"]`` when a model cannot have them."""
    wanted = [kind for kind, on in (("raw_text", config.raw_text), ("mediapipe", config.mediapipe)) if on]
    if not wanted or ids.path is None:
        return []
    reason = edge_reason(module, pairs)
    if reason is not None:
        ids.extra["edge_files"] = {kind: f"not written: {reason}" for kind in wanted}
        log(f"  no raw-text/MediaPipe file: {reason}")
        return []
    kept = ids.extra.get("selective", {}).get("float_ops", [])  # full_int8: the same ops in float
    out: list[Variant] = []
    for kind in wanted:
        try:
            if kind == "raw_text":
                made = raw_text_variant(module, tmp, quantization, ids, texts, validation, config.num_threads, log,
                                        kept)
            else:
                made = mediapipe_variant(module, tmp, quantization, ids, samples, validation, config.num_threads,
                                         log, kept)
        except EdgeFileError as error:
            made = f"not written: {error}"
        if isinstance(made, str):
            made = made if made.startswith("not written: ") else f"not written: {made}"
            ids.extra.setdefault("edge_files", {})[kind] = made
            log(f"  {kind}: {made}")
        else:
            ids.extra.setdefault("edge_files", {})[kind] = made.path
            out.append(made)
    return out


def _web_page(tmp: Path, output_dir: Path, variants: list[Variant], classifier: Any,
              log: Callable[[str], None]) -> None:
    """``web/``: the static MediaPipe Tasks for Web page around the preferred MediaPipe file."""
    from tfkit.export.web_page import write_web_page

    files = {v.name: v for v in variants if v.format == "mediapipe" and v.path is not None}
    if not files:
        raise ConfigError("Expected a MediaPipe file for web=True. Received: none was written (mediapipe=False, "
                          "or the model cannot have one: see export.json 'edge_files'). Export with mediapipe=True.")
    chosen = files.get(f"{Quantization.DYNAMIC_INT8.value}_mediapipe") or next(iter(files.values()))
    log(f"Writing web/ around {chosen.path}")
    write_web_page(tmp / "web", tmp / chosen.path, title=f"tfkit: {classifier.config.checkpoint}", copy_model=False,
                   log=lambda _: None)  # its own message would name the temporary folder
    log(f"  web page: python -m http.server -d {output_dir} 8000, then open http://localhost:8000/web/")


def _within_budget(check: Any, config: ExportConfig) -> bool:
    return check.drop_points is None or check.drop_points <= config.accuracy_budget


__all__ = ["ExportValidationError", "export", "raw_string_agreement"]
