"""Distinct bad inputs, each expected to raise a ``TfkitError`` whose message names what is wrong.

``run_cases(folder)`` returns one row per case: its name, the error class, the message and whether it
was *clear*: a ``TfkitError`` subclass whose message contains the file, row, column or argument the
case names. Used by ``benchmarks/reliability.py``; ``tests/test_bad_inputs.py`` runs a few of them.

Examples:
    >>> rows = run_cases(tempfile.mkdtemp())     # doctest: +SKIP
    >>> sum(r["clear"] for r in rows)            # doctest: +SKIP
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile  # noqa: F401  (docstring example)
from pathlib import Path
from typing import Any, Callable

Case = tuple[str, Callable[[], Any], tuple[str, ...]]


def _cases(folder: Path) -> list[Case]:
    import tfkit
    from tfkit.export.config import ExportConfig
    from tfkit.models.config import ClassifierConfig
    from tfkit.pipeline import RunDirectory
    from tfkit.testing import write_tiny_checkpoint

    folder.mkdir(parents=True, exist_ok=True)

    def file(name: str, content: str | bytes) -> Path:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    good = file("good.csv", "text,label\ngood film,pos\nbad film,neg\ngreat,pos\nawful,neg\n")
    checkpoint = write_tiny_checkpoint(folder / "tiny", "bert", seed=0)
    data = tfkit.data.load(good)

    def classifier(**options: Any) -> Any:
        return tfkit.TextClassifier.from_pretrained(checkpoint, labels=data.labels, max_length=16,
                                                    precision="float32", **options)

    def checkpoint_with(name: str, files: dict[str, bytes]) -> Path:
        path = folder / name
        path.mkdir()
        for part in checkpoint.iterdir():  # config and tokenizer files, no weights
            if part.is_file() and part.name not in ("tf_model.h5", "model.safetensors"):
                (path / part.name).write_bytes(part.read_bytes())
        for file_name, content in files.items():
            (path / file_name).write_bytes(content)
        return path

    def second_fit() -> None:
        clf = classifier()
        clf.fit(data, epochs=1, verbose=0)
        clf.fit(data, epochs=1, verbose=0)

    def backup_without_resume() -> None:
        out = folder / "interrupted"
        (out / "backup").mkdir(parents=True)
        (out / "backup" / "checkpoint").write_text("x")
        classifier().fit(data, epochs=1, output_dir=out, verbose=0)

    def stage_done_twice() -> None:
        run = RunDirectory(folder / "run_done")
        run.write_stage("finetune", config={}, metrics={}, outputs={}, parent=None)
        run.begin("finetune", resume=False, overwrite=False)

    def locked_run() -> None:
        path = folder / "locked_run"
        path.mkdir()
        holder = subprocess.Popen([sys.executable, "-c", (
            "import sys, time; from tfkit.pipeline import RunDirectory; "
            f"RunDirectory({str(path)!r}).lock(); print('locked', flush=True); time.sleep(60)")],
            stdout=subprocess.PIPE, text=True)
        try:
            holder.stdout.readline()
            RunDirectory(path).begin("finetune", resume=False, overwrite=False)
        finally:
            holder.kill()
            holder.wait()

    def tampered_manifest() -> None:
        from tfkit.integrity import verify_folder

        model = classifier().save_pretrained(folder / "escape_model")
        sums = json.loads((model / "checksums.json").read_text())
        sums["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "size": 1}
        (model / "checksums.json").write_text(json.dumps(sums))
        verify_folder(model)

    def tune_without_trials() -> None:
        from tfkit.tuning.hypermodel import ClassifierHyperModel
        from tfkit.tuning.report import TuningResult
        from tfkit.tuning.search import make_objective, make_oracle
        from tfkit.tuning.tuner import ClassifierTuner

        oracle = make_oracle("random", make_objective("val_loss", data), 1, 0, 1)
        runner = ClassifierTuner(oracle, ClassifierHyperModel(checkpoint, labels=data.labels),
                                 directory=str(folder), project_name="empty_search")
        TuningResult(runner).best_classifier()

    safetensors_fake = struct.pack("<Q", 4) + b"nope"
    cp1252 = file("cp1252.csv", "text,label\ncaf\xe9 film,pos\n".encode("cp1252"))
    return [
        ("file not found", lambda: tfkit.data.load(folder / "missing.csv"), ("missing.csv",)),
        ("directory instead of file", lambda: tfkit.data.load(folder), (str(folder),)),
        ("empty file", lambda: tfkit.data.load(file("empty.csv", "")), ("empty.csv",)),
        ("header only", lambda: tfkit.data.load(file("header.csv", "text,label\n")), ("header.csv",)),
        ("unknown extension", lambda: tfkit.data.load(file("data.xyz", "a,b\n1,2\n")), ("data.xyz", "delimiter")),
        ("not UTF-8 (strict)", lambda: tfkit.data.load(cp1252), ("cp1252.csv", "line 2", "encoding")),
        ("unknown encoding name", lambda: tfkit.data.load(good, encoding="klingon"), ("encoding",)),
        ("bad encoding_errors", lambda: tfkit.data.load(good, encoding_errors="ignore-all"), ("encoding_errors",)),
        ("missing text column", lambda: tfkit.data.load(good, text="review"), ("review", "good.csv")),
        ("missing label column", lambda: tfkit.data.load(good, label="stars"), ("stars", "good.csv")),
        ("empty text cell", lambda: tfkit.data.load(file("blank.csv", "text,label\ngood,pos\n   ,neg\n")),
         ("blank.csv", "row 2", "text")),
        ("missing label cell", lambda: tfkit.data.load(file("nolabel.csv", "text,label\ngood,pos\nbad,\n")),
         ("nolabel.csv", "row 2", "label")),
        ("invalid JSON line", lambda: tfkit.data.load(file("bad.jsonl", '{"text": "a", "label": "x"}\n{oops\n')),
         ("bad.jsonl", "line 2")),
        ("JSON line not an object", lambda: tfkit.data.load(file("list.jsonl", '{"text": "a", "label": "x"}\n[1, 2]\n')),
         ("list.jsonl", "line 2")),
        ("label outside the fixed set", lambda: tfkit.data.load(good, labels=("pos",)), ("neg",)),
        ("unequal dict columns", lambda: tfkit.data.load({"text": ["a", "b"], "label": ["x"]}), ("lengths",)),
        ("unsupported source type", lambda: tfkit.data.load(42), ("int",)),
        ("unknown task", lambda: tfkit.data.load(good, task="ranking"), ("task",)),
        ("checkpoint folder missing", lambda: tfkit.TextClassifier.from_pretrained(folder / "nope"), ("nope",)),
        ("checkpoint without config.json", lambda: tfkit.TextClassifier.from_pretrained(folder), ("config.json",)),
        ("config.json not JSON", lambda: tfkit.TextClassifier.from_pretrained(
            checkpoint_with("badjson", {}).joinpath("config.json").write_text("{") and folder / "badjson"),
         ("config.json",)),
        ("unsupported model_type", lambda: tfkit.TextClassifier.from_pretrained(
            (lambda p: (p.joinpath("config.json").write_text('{"model_type": "gpt2"}'), p)[1])(checkpoint_with("gpt2", {}))),
         ("model_type", "gpt2")),
        ("no weights", lambda: tfkit.TextClassifier.from_pretrained(checkpoint_with("noweights", {}), labels=("a", "b")),
         ("noweights",)),
        ("pickle-only weights", lambda: tfkit.TextClassifier.from_pretrained(
            checkpoint_with("pickled", {"pytorch_model.bin": b"\x80\x04K\x01."}), labels=("a", "b")),
         ("pytorch_model.bin",)),
        ("fake tf_model.h5", lambda: tfkit.TextClassifier.from_pretrained(
            checkpoint_with("fakeh5", {"tf_model.h5": b"PK\x03\x04 not hdf5"}), labels=("a", "b")), ("tf_model.h5",)),
        ("fake model.safetensors", lambda: tfkit.TextClassifier.from_pretrained(
            checkpoint_with("fakesafe", {"model.safetensors": safetensors_fake}), labels=("a", "b")),
         ("model.safetensors",)),
        ("no tokenizer files", lambda: tfkit.TextClassifier.from_pretrained(
            (lambda p: ([f.unlink() for f in p.iterdir() if f.name != "config.json"], p)[1])(checkpoint_with("notok", {})),
            labels=("a", "b")), ("tokenizer",)),
        ("one label only", lambda: tfkit.TextClassifier.from_pretrained(checkpoint, labels=("a",)), ("labels",)),
        ("max_length beyond positions", lambda: tfkit.TextClassifier.from_pretrained(
            checkpoint, labels=data.labels, max_length=4096), ("max_length",)),
        ("freeze more layers than exist", lambda: classifier(freeze_layers=9), ("freeze_layers",)),
        ("unknown precision", lambda: ClassifierConfig(labels=("a", "b"), precision="float8"), ("precision",)),
        ("second fit on one compile", second_fit, ("compile()",)),
        ("resume without output_dir", lambda: classifier().fit(data, epochs=1, resume=True, verbose=0),
         ("output_dir",)),
        ("backup without resume", backup_without_resume, ("resume",)),
        ("fit labels differ from model", lambda: classifier().fit(
            tfkit.data.from_lists(["a", "b"], ["x", "y"]), epochs=1, verbose=0), ("labels",)),
        ("balanced class weight without dataset", lambda: classifier().fit(
            {"input_ids": [[1]]}, [0], class_weight="balanced", verbose=0), ("class_weight",)),
        ("load a non-tfkit folder", lambda: tfkit.TextClassifier.load(checkpoint), ("tfkit.json",)),
        ("unknown tuner", lambda: tfkit.tune(data, data, checkpoint=checkpoint, tuner="grid",
                                                    output_dir=folder / "t"), ("tuner",)),
        ("objective never logged", lambda: tfkit.tune(data, data, checkpoint=checkpoint, objective="val_f1",
                                                             output_dir=folder / "t"), ("val_f1",)),
        ("unknown hyperparameter", lambda: tfkit.tune(data, data, checkpoint=checkpoint, space={"lr": (1, 2)},
                                                             output_dir=folder / "t"), ("lr",)),
        ("search with no completed trial", tune_without_trials, ("completed trial",)),
        ("unknown quantization variant", lambda: ExportConfig(quantization=("int4",)), ("quantization",)),
        ("negative accuracy budget", lambda: ExportConfig(accuracy_budget=-1), ("accuracy_budget",)),
        ("export batch size 2", lambda: ExportConfig(batch_size=2), ("batch_size",)),
        ("export without validation data", lambda: tfkit.export(classifier(), folder / "e1"), ("validation=",)),
        ("full_int8 without representative data", lambda: tfkit.export(
            classifier(), folder / "e2", quantization=["full_int8"], validation=data), ("train=",)),
        ("stage complete, no resume/overwrite", stage_done_twice, ("resume", "overwrite")),
        ("run folder locked by another process", locked_run, ("locked_run",)),
        ("manifest path escaping the folder", tampered_manifest, ("etc/passwd",)),
    ]


def run_cases(folder: str | Path) -> list[dict[str, Any]]:
    """Runs every case; a case is clear when it raises a TfkitError naming each of its expected words."""
    from tfkit.errors import TfkitError

    rows = []
    for name, call, expected in _cases(Path(folder)):
        try:
            call()
        except Exception as err:  # noqa: BLE001  (the point is to see what each case raises)
            message = str(err)
            rows.append({"case": name, "error": type(err).__name__, "message": message,
                         "tfkit_error": isinstance(err, TfkitError), "expected_words": list(expected),
                         "clear": isinstance(err, TfkitError) and all(w in message for w in expected)})
        else:
            rows.append({"case": name, "error": None, "message": "(no error)", "tfkit_error": False,
                         "expected_words": list(expected), "clear": False})
    return rows


if __name__ == "__main__":
    import tempfile as _tempfile

    for row in run_cases(_tempfile.mkdtemp(prefix="tfkit-bad-")):
        print(f"{'OK ' if row['clear'] else 'BAD'} {row['case']}: {row['error']}: {row['message'][:150]}")
