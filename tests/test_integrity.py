"""Integrity: checksums and ``tfkit verify``, safe paths, safe weight files, full disks."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
import uuid
from pathlib import Path

import pytest

import tfkit
from tfkit import integrity
from tfkit._io import atomic_directory, atomic_write_json
from tfkit.cli.main import main
from tfkit.errors import CheckpointError, DiskFullError, IntegrityError, TfkitError, UnsafePathError
from tfkit.integrity import CHECKSUMS, file_checksums, inside, verify_folder

PACKAGE = Path(tfkit.__file__).parent


@pytest.fixture
def saved_model(tiny_classifier, tmp_path) -> Path:
    return tiny_classifier.save_pretrained(tmp_path / "model")


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


# ------------------------------------------------------------------------------------------------ checksums


def test_saved_model_records_every_file_but_its_checksums(saved_model):
    record = json.loads((saved_model / CHECKSUMS).read_text())
    files = record["files"]
    on_disk = sorted(p.relative_to(saved_model).as_posix() for p in saved_model.rglob("*") if p.is_file())
    assert list(files) == sorted(files) == [name for name in on_disk if name != CHECKSUMS]
    assert {"tf_model.h5", "tfkit.json", "labels.txt"} <= set(files)
    assert files["labels.txt"]["size"] == (saved_model / "labels.txt").stat().st_size
    assert re.fullmatch(r"[0-9a-f]{64}", files["tf_model.h5"]["sha256"])
    report = verify_folder(saved_model)
    assert report.ok and report.files == len(files) and report.folders == (".",)


def test_verify_names_changed_missing_and_extra_files(saved_model, capsys):
    assert main(["verify", str(saved_model)]) == 0
    weights = saved_model / "tf_model.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, same size
    weights.write_bytes(bytes(data))
    (saved_model / "labels.txt").unlink()
    (saved_model / "notes.txt").write_text("added")
    report = verify_folder(saved_model)
    assert not report.ok
    assert (report.changed, report.missing, report.extra) == (("tf_model.h5",), ("labels.txt",), ("notes.txt",))
    capsys.readouterr()
    assert main(["verify", str(saved_model)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "tf_model.h5" in out and "labels.txt" in out and "notes.txt" in out


def test_deleting_the_checksums_is_reported(saved_model):
    (saved_model / CHECKSUMS).unlink()
    assert verify_folder(saved_model).missing == (CHECKSUMS,)


def test_tampered_manifest_cannot_make_verify_read_outside(tmp_path, capsys):
    folder = tmp_path / "run" / "model"
    folder.mkdir(parents=True)
    (folder / "labels.txt").write_text("a\n")
    integrity.write_checksums(folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    record = json.loads((folder / CHECKSUMS).read_text())
    record["files"]["../../secret.txt"] = file_checksums(tmp_path)["secret.txt"]  # a correct hash, even
    (folder / CHECKSUMS).write_text(json.dumps(record))
    with pytest.raises(UnsafePathError, match=r"\.\./\.\./secret\.txt"):
        verify_folder(folder)
    assert main(["verify", str(folder)]) == 2
    assert "climbs out" in capsys.readouterr().err
    entry = record["files"]["labels.txt"]
    for name in ("/etc/passwd", "..\\..\\secret.txt"):
        record["files"] = {name: entry}
        (folder / CHECKSUMS).write_text(json.dumps(record))
        with pytest.raises(UnsafePathError):
            verify_folder(folder)


def test_inside_refuses_escapes(tmp_path):
    (tmp_path / "out").mkdir()
    assert inside(tmp_path, "out/a.txt") == tmp_path / "out" / "a.txt"
    (tmp_path / "out" / "link").symlink_to("/etc")
    for bad in ("../x", "a/../../x", "/etc/passwd", "", "out/link/passwd"):
        with pytest.raises(UnsafePathError):
            inside(tmp_path, bad)


def test_malformed_checksums_are_an_integrity_error(saved_model):
    (saved_model / CHECKSUMS).write_text('{"format": "tfkit.checksums", "files": {"a": {"sha256": "x"}}}')
    with pytest.raises(IntegrityError, match="Expected"):
        verify_folder(saved_model)
    (saved_model.parent / "nothing").mkdir()
    with pytest.raises(IntegrityError, match="holds none"):
        verify_folder(saved_model.parent / "nothing")


def test_export_and_run_folders_verify(tiny_checkpoint, tmp_path):
    """One export (SavedModel only, ~20 s): its folder has checksums; a run folder is verified stage by stage."""
    from tests.conftest import toy_texts
    from tfkit.export import ExportConfig
    from tfkit.pipeline.export import export_stage
    from tfkit.pipeline.run import RunDirectory

    texts, labels = toy_texts(16)
    data = tfkit.data.from_lists(texts, labels)
    run = RunDirectory(tmp_path / "run")
    model_dir = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, max_length=16).save_pretrained(
        run.stage("finetune") / "model")
    run.write_stage("finetune", config={}, metrics={}, outputs={"model": str(model_dir)}, parent=None)
    result = export_stage(None, data, ExportConfig(formats=("saved_model",), raw_strings=False), run,
                          log=lambda _: None)
    run.release()
    listed = json.loads((result.path / CHECKSUMS).read_text())["files"]
    assert "export.json" in listed and any(name.startswith("saved_model/variables/") for name in listed)
    report = verify_folder(run.path)
    assert report.ok, report.summary()
    assert report.folders == ("01_finetune/model", "05_export")
    assert "05_export/stage.json" in report.skipped and "05_export/variants.png" in report.skipped
    assert all(name.split("/")[1] in ("stage.json", "variants.png", "logs") for name in report.skipped), report.skipped
    variables = next(p for p in (result.path / "saved_model" / "variables").iterdir() if "data" in p.name)
    variables.write_bytes(variables.read_bytes()[:-1])
    (model_dir / "vocab.txt").unlink()
    report = verify_folder(run.path)
    assert report.changed == (f"05_export/saved_model/variables/{variables.name}",)
    assert report.missing == ("01_finetune/model/vocab.txt",)


# ------------------------------------------------------------------------------------------------ safe loading


UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "cloudpickle", "shelve", "torch"}
UNSAFE_FLAGS = {"trust_remote_code", "allow_pickle", "from_pt"}  # =True unpickles or runs downloaded code


def _unsafe_code(text: str) -> list[tuple[int, str]]:
    """Code (not comments or docstrings) that imports a pickle-based module or turns on an unsafe flag."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    found = []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string in UNSAFE_MODULES:
            found.append((tok.start[0], tok.string))
        if tok.type == tokenize.NAME and tok.string in UNSAFE_FLAGS and tokens[i + 1].string == "=" \
                and tokens[i + 2].string != "False":
            found.append((tok.start[0], f"{tok.string}={tokens[i + 2].string}"))
    return found


def test_package_source_has_no_pickle_or_remote_code():
    assert _unsafe_code("import pickle\nx = np.load(f, allow_pickle=True)\n# pickle in a comment\n") == \
        [(1, "pickle"), (2, "allow_pickle=True")]
    offenders = [f"{source.relative_to(PACKAGE)}:{line}: {what}" for source in sorted(PACKAGE.rglob("*.py"))
                 for line, what in _unsafe_code(source.read_text(encoding="utf-8"))]
    assert offenders == []


def _checkpoint_copy(tiny_checkpoint: Path, target: Path) -> Path:
    shutil.copytree(tiny_checkpoint, target)
    return target


def test_renamed_pickle_is_refused_as_weights(tiny_checkpoint, tmp_path, saved_model):
    checkpoint = _checkpoint_copy(tiny_checkpoint, tmp_path / "ckpt")
    (checkpoint / "tf_model.h5").write_bytes(b"PK\x03\x04" + b"\0" * 64)  # a torch zip, renamed
    with pytest.raises(CheckpointError, match=r"Expected .*tf_model\.h5' to be an HDF5 file"):
        tfkit.TextClassifier.from_pretrained(checkpoint, labels=("neg", "pos"))
    (saved_model / "tf_model.h5").write_bytes(b"\x80\x04\x95" + b"\0" * 64)  # a pickle stream header
    with pytest.raises(CheckpointError, match="HDF5"):
        tfkit.TextClassifier.load(saved_model)


def test_pickle_only_checkpoints_and_fake_safetensors_are_refused(tiny_checkpoint, tmp_path):
    checkpoint = _checkpoint_copy(tiny_checkpoint, tmp_path / "ckpt")
    (checkpoint / "tf_model.h5").unlink()
    (checkpoint / "pytorch_model.bin").write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(CheckpointError, match=r"pickle-based weight files \['pytorch_model.bin'\]"):
        tfkit.TextClassifier.from_pretrained(checkpoint, labels=("neg", "pos"))
    (checkpoint / "model.safetensors").write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
    with pytest.raises(CheckpointError, match="safetensors file"):
        tfkit.TextClassifier.from_pretrained(checkpoint, labels=("neg", "pos"))


def test_real_weight_files_pass_the_format_check(tiny_checkpoint, tmp_path):
    from tfkit.testing import write_tiny_checkpoint

    assert integrity.check_weight_files(tiny_checkpoint) == "tf_model.h5"
    safetensors = write_tiny_checkpoint(tmp_path / "st", "bert", weights="safetensors")
    assert integrity.check_weight_files(safetensors) == "model.safetensors"


# ------------------------------------------------------------------------------------------------ full disk


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_during_save_keeps_the_previous_model(tiny_classifier, saved_model, monkeypatch):
    before = file_checksums(saved_model)

    def partial_then_full(directory, *args, **kwargs):
        Path(directory, "tokenizer.json").write_text('{"partial": ')
        _enospc()

    monkeypatch.setattr(tiny_classifier.tokenizer, "save_pretrained", partial_then_full)
    with pytest.raises(DiskFullError) as caught:
        tiny_classifier.save_pretrained(saved_model, overwrite=True)
    message = str(caught.value)
    assert f"No space left on device while writing '{saved_model}'; previous outputs kept" in message
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.ENOSPC
    assert isinstance(caught.value, TfkitError)
    assert file_checksums(saved_model) == before and verify_folder(saved_model).ok
    assert _siblings(saved_model) == []  # no temporary folder left


def test_full_disk_while_swapping_folders_keeps_the_old_one(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("old")
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(prefix="", dir=None):
        return _enospc() if ".old-" in prefix else real_mkdtemp(prefix=prefix, dir=dir)

    monkeypatch.setattr("tfkit._io.tempfile.mkdtemp", mkdtemp)
    with pytest.raises(DiskFullError, match="previous outputs kept"):
        with atomic_directory(out, overwrite=True) as tmp:
            (tmp / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "old" and _siblings(out) == []


def test_full_disk_during_json_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = atomic_write_json(tmp_path / "stage.json", {"status": "complete", "metrics": {"accuracy": 0.9}})
    before = target.read_bytes()
    real_fdopen = os.fdopen

    class HalfWritten:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            _enospc()

    monkeypatch.setattr("tfkit._io.os.fdopen", lambda fd, *a, **k: HalfWritten(real_fdopen(fd, *a, **k)))
    with pytest.raises(DiskFullError, match=r"No space left on device while writing .*stage\.json"):
        atomic_write_json(target, {"status": "complete", "metrics": {"accuracy": 0.1}})
    assert target.read_bytes() == before and _siblings(target) == []


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A real 256 KiB tmpfs (skipped where mounting is not allowed)."""
    mount = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


_FULL_DISK_SCRIPT = """
import json, sys
from pathlib import Path
import pytest
import tfkit
from tfkit._io import atomic_write_json
from tfkit.errors import DiskFullError
from tfkit.integrity import file_checksums, verify_folder

checkpoint, root = Path(sys.argv[1]), Path(sys.argv[2])
clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=("neg", "pos"), max_length=16, precision="float32")
model = clf.save_pretrained(root / "model")  # ~170 KB: a second copy does not fit
before = file_checksums(model)
with pytest.raises(DiskFullError, match="previous outputs kept"):
    clf.save_pretrained(model, overwrite=True)
assert file_checksums(model) == before and verify_folder(model).ok
assert sorted(p.name for p in root.iterdir()) == ["model"], list(root.iterdir())

record = atomic_write_json(root / "stage.json", {"status": "complete"})
with open(root / "filler", "wb", buffering=0) as filler:  # fill what is left
    with pytest.raises(OSError, match="No space left"):
        while True:
            filler.write(b"\\0" * 4096)
with pytest.raises(DiskFullError):
    atomic_write_json(record, {"status": "complete", "metrics": {"x": "y" * 8192}})
assert json.loads(record.read_text()) == {"status": "complete"}
assert sorted(p.name for p in root.iterdir()) == ["filler", "model", "stage.json"]
print("FULL_DISK_OK", flush=True)
import os
os._exit(0)  # HDF5 (h5py 3.x) can segfault while finalising ids left by the ENOSPC failure: skip its teardown
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs is Linux")
def test_real_full_filesystem_keeps_previous_outputs(tiny_checkpoint, tiny_filesystem, tmp_path):
    # In its own process: after HDF5 hits ENOSPC its C library can crash a later h5py call in the same process.
    script = tmp_path / "full_disk.py"
    script.write_text(_FULL_DISK_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tiny_checkpoint), str(tiny_filesystem)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and "FULL_DISK_OK" in done.stdout, done.stdout[-2000:] + done.stderr[-3000:]
