"""Integrity of saved folders: checksums, ``tfkit verify``, safe paths and safe weight files.

Every model folder (:func:`tfkit.models.saving.save_classifier`) and export
folder (:func:`tfkit.export`) holds a ``checksums.json``: the SHA-256 and size of
every other file in it, by relative POSIX path, sorted. It is written into the
temporary folder just before that folder is renamed into place, and it does not
list itself. :func:`verify_folder` re-checks a model folder, an export folder or
a whole run folder (every such folder found under it) and names each changed,
missing or unexpected file.

Examples:
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "labels.txt").write_text("neg\\npos\\n")
    >>> _ = write_checksums(folder)
    >>> verify_folder(folder).ok
    True
    >>> _ = (folder / "labels.txt").write_text("pos\\nneg\\n")
    >>> verify_folder(folder).changed
    ('labels.txt',)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from tfkit._io import atomic_write_json
from tfkit.errors import CheckpointError, IntegrityError, UnsafePathError

CHECKSUMS = "checksums.json"
FORMAT = "tfkit.checksums"
FORMAT_VERSION = 1
# Files other steps add to a finished folder's top level after its checksums were written; not reported
# as extra unless listed: the run's stage record (an export folder is also its stage's folder) and
# `tfkit bench`'s outputs (written into the export folder by default), the export stage's plot and the
# TensorBoard summaries and test-split bench that the stage and the pipeline add beside the export.
ADDED_LATER = ("stage.json", "bench.json", "bench.md", "bench.png", "variants.png")
ADDED_LATER_FOLDERS = ("logs", "test_bench")
# Files that mark a folder as written by tfkit (so a missing checksums.json is reported, not ignored).
OUTPUT_MARKERS = ("tfkit.json", "export.json")

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Weight files that are pickle archives (PyTorch, Lightning, joblib): loading them can run arbitrary code.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# ---------------------------------------------------------------------------------------------- paths


def inside(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``root / path``, refused unless it stays inside ``root``.

    Args:
        root: the folder ``path`` must stay in.
        path: a relative path taken from input (a manifest entry, a stage or variant name).

    Returns:
        ``root / path`` (not resolved).

    Raises:
        UnsafePathError: ``path`` is absolute, empty, contains ``..``, or resolves
            (through a symbolic link) to a place outside ``root``.

    Examples:
        >>> inside("/runs/a", "01_finetune/model")
        PosixPath('/runs/a/01_finetune/model')
        >>> inside("/runs/a", "../../etc/passwd")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        tfkit.errors.UnsafePathError: ...
    """
    text = os.fspath(path)
    problem = None
    if not text or text == "." or "\0" in text:
        problem = "is empty or not a file name"
    elif PurePosixPath(text).is_absolute() or PureWindowsPath(text).drive or PureWindowsPath(text).root:
        problem = "is absolute"
    elif ".." in PurePosixPath(text).parts or ".." in PureWindowsPath(text).parts:
        problem = "climbs out through '..'"
    full = Path(root) / text
    if problem is None:
        resolved, base = full.resolve(), Path(root).resolve()
        if resolved != base and not resolved.is_relative_to(base):
            problem = f"resolves through a symbolic link to '{resolved}'"
    if problem is not None:
        raise UnsafePathError(
            f"Expected a relative path that stays inside '{root}'. Received: path={text!r}, which {problem}. "
            "Names in manifests and stage records must stay inside their folder; if you did not write this "
            "one, the folder may have been tampered with.")
    return full


# ---------------------------------------------------------------------------------------------- checksums


def file_checksums(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{relative path: {"sha256": hex, "size": bytes}}`` of every file under ``folder``, sorted.

    The folder's own top-level ``checksums.json`` is left out.

    Examples:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.txt").write_text("hi")
        >>> file_checksums(folder)["a.txt"]["size"]
        2
    """
    folder = Path(folder)
    result = {}
    for name in _listing(folder):
        target = inside(folder, name)
        if not target.is_file():
            raise IntegrityError(f"Expected only files and folders in '{folder}'. Received: '{name}', "
                                 "a link to a folder or a special file. Remove it and save again.")
        result[name] = {"sha256": _sha256(target), "size": target.stat().st_size}
    return result


def write_checksums(folder: str | os.PathLike) -> Path:
    """Writes ``folder/checksums.json`` over every other file in ``folder``; returns its path.

    Call it on the temporary folder just before it is renamed into place.

    Examples:
        >>> import pathlib, tempfile
        >>> write_checksums(tempfile.mkdtemp()).name
        'checksums.json'
    """
    folder = Path(folder)
    record = {"format": FORMAT, "format_version": FORMAT_VERSION, "algorithm": "sha256",
              "files": file_checksums(folder)}
    return atomic_write_json(folder / CHECKSUMS, record)


def read_checksums(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The checked ``files`` table of ``folder/checksums.json``.

    Raises:
        IntegrityError: the file is missing, not JSON, or not a tfkit checksums record.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_checksums(folder)
        >>> read_checksums(folder)
        {}
    """
    file = Path(folder) / CHECKSUMS
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(f"Expected a {CHECKSUMS} in '{folder}'. Received: none. Save or export the "
                             "folder again with this tfkit to record its checksums.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise IntegrityError(f"Expected {file} to be JSON. Received: unreadable text ({err}). The file was "
                             "damaged or edited; save or export the folder again.") from None
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(files, dict) or \
            record.get("format_version", 0) > FORMAT_VERSION or not all(_valid_entry(v) for v in files.values()):
        raise IntegrityError(f"Expected {file} to be a '{FORMAT}' v{FORMAT_VERSION} record with a 'files' table of "
                             "{path: {sha256, size}}. Received: something else. Save or export the folder again.")
    return files


# ---------------------------------------------------------------------------------------------- verify


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify_folder` found; every path is relative to ``path``.

    Attributes:
        path: the folder that was verified.
        folders: the checksummed folders found (``"."`` for ``path`` itself).
        files: how many listed files were checked.
        changed: listed files whose size or SHA-256 differ (or that are no longer files).
        missing: listed files that are gone (and ``checksums.json`` of a tfkit folder that lost it).
        extra: files that are not listed.
        skipped: unlisted files other steps add later (``stage.json``, ``bench.*``), not checked.

    Examples:
        >>> report = verify_folder("saved_models/run")       # doctest: +SKIP
        >>> report.ok, report.changed                         # doctest: +SKIP
        (False, ('01_finetune/model/tf_model.h5',))
    """

    path: Path
    folders: tuple[str, ...]
    files: int
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing changed, went missing or was added."""
        return not (self.changed or self.missing or self.extra)

    def summary(self) -> str:
        """A few lines for a terminal: the verdict, then every problem by kind."""
        where = f"{len(self.folders)} folder(s) in {self.path}"
        if self.ok:
            return f"OK: {self.files} file(s) in {where} match their checksums."
        lines = [f"FAILED: {where}: {len(self.changed)} changed, {len(self.missing)} missing, "
                 f"{len(self.extra)} unexpected file(s)."]
        for kind in ("changed", "missing", "extra"):
            lines += [f"  {kind:8s} {name}" for name in getattr(self, kind)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (with ``ok``)."""
        return {"path": str(self.path), "ok": self.ok, **{f.name: getattr(self, f.name)
                                                           for f in dataclasses.fields(self) if f.name != "path"}}


def verify_folder(path: str | os.PathLike) -> VerifyReport:
    """Re-checks a model, export or run folder against its ``checksums.json`` files.

    A run folder is verified by verifying every model and export folder found under it
    (hidden folders such as leftover temporaries are not visited). Nothing a manifest
    names outside its folder is read.

    Args:
        path: a folder written by ``save_classifier``/``tfkit.export``, or a run folder holding some.

    Returns:
        A :class:`VerifyReport`; ``report.ok`` is False if any file changed, went missing or was added.

    Raises:
        IntegrityError: ``path`` holds no checksummed folder, or a ``checksums.json`` is malformed.
        UnsafePathError: a ``checksums.json`` names a path outside its folder.

    Examples:
        >>> report = verify_folder("saved_models/run/01_finetune/model")   # doctest: +SKIP
        >>> print(report.summary())                                         # doctest: +SKIP
        OK: 9 file(s) in 1 folder(s) in saved_models/run/01_finetune/model match their checksums.
    """
    root = Path(path)
    if not root.is_dir():
        raise IntegrityError(f"Expected a model, export or run folder. Received: path='{root}', which is not a "
                             "folder.")
    found = _tfkit_folders(root)
    if not found:
        raise IntegrityError(
            f"Expected a folder written by tfkit ({CHECKSUMS}, {' or '.join(OUTPUT_MARKERS)}) or a run folder "
            f"holding some. Received: path='{root}', which holds none. Pass a model, export or run folder.")
    files, changed, missing, extra, skipped = 0, [], [], [], []
    for folder in found:
        prefix = "" if folder == root else folder.relative_to(root).as_posix() + "/"
        if not (folder / CHECKSUMS).is_file():
            missing.append(prefix + CHECKSUMS)
            continue
        listed = read_checksums(folder)
        for name, entry in sorted(listed.items()):
            target = inside(folder, name)
            files += 1
            if not os.path.lexists(target):
                missing.append(prefix + name)
            elif not target.is_file() or target.stat().st_size != entry["size"] or _sha256(target) != entry["sha256"]:
                changed.append(prefix + name)
        for name in _listing(folder):
            if name not in listed:
                later = name in ADDED_LATER or name.split("/", 1)[0] in ADDED_LATER_FOLDERS
                (skipped if later else extra).append(prefix + name)
    folders = tuple("." if f == root else f.relative_to(root).as_posix() for f in found)
    return VerifyReport(root, folders, files, tuple(changed), tuple(missing), tuple(extra), tuple(skipped))


# ---------------------------------------------------------------------------------------------- weight files


def check_weight_files(path: str | os.PathLike, names: tuple[str, ...] = ("tf_model.h5", "model.safetensors")
                       ) -> str | None:
    """Checks the weight files of checkpoint folder ``path`` before anything loads them.

    Each of ``names`` that is present must really be of its format (HDF5 signature for
    ``.h5``; an 8-byte little-endian header length then ``{`` for ``.safetensors``). A
    folder without any of them but with pickle-based weights (``pytorch_model.bin``,
    ``*.pt``, ``*.pkl``, ``*.ckpt``, ...) is refused: tfkit never unpickles.

    Returns:
        The first of ``names`` present, or None when the folder has none (and no pickle files).

    Raises:
        CheckpointError: a weight file is not of its format, or the only weights are pickle-based.

    Examples:
        >>> import tempfile
        >>> check_weight_files(tempfile.mkdtemp()) is None
        True
    """
    path = Path(path)
    present = [name for name in names if (path / name).is_file()]
    for name in present:
        head = _head(path / name, 9)
        ok = _is_hdf5(path / name) if name.endswith(".h5") else _is_safetensors(path / name, head)
        if not ok:
            kind = "an HDF5 file (signature \\x89HDF\\r\\n\\x1a\\n)" if name.endswith(".h5") else \
                "a safetensors file (8-byte little-endian header length, then a JSON header)"
            raise CheckpointError(
                f"Expected '{path / name}' to be {kind}. Received: a file starting with {head[:8]!r}. It is damaged "
                "or of another format (a renamed pickle?); tfkit does not load it. Re-save the checkpoint with "
                "save_pretrained, or download it again.")
    if present:
        return present[0]
    pickles = sorted(p.name for p in path.iterdir() if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES) \
        if path.is_dir() else []
    if pickles:
        raise CheckpointError(
            f"Expected weights as {' or '.join(names)} in '{path}'. Received: only pickle-based weight files "
            f"{pickles}. tfkit never loads pickle files (loading one can run arbitrary code); convert the "
            "checkpoint to safetensors on a machine you trust (e.g. transformers' save_pretrained with "
            "safe_serialization=True) and pass that folder.")
    return None


# ---------------------------------------------------------------------------------------------- helpers


def _listing(folder: Path) -> list[str]:
    """Relative POSIX paths of every file (and link) under ``folder``, sorted, without its ``checksums.json``."""
    names = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath).relative_to(folder)
        linked = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in filenames + linked:
            names.append((base / name).as_posix())
    return sorted(name for name in names if name != CHECKSUMS)


def _tfkit_folders(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if CHECKSUMS in filenames or any(marker in filenames for marker in OUTPUT_MARKERS):
            found.append(Path(dirpath))
    return found


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _valid_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and bool(_SHA256.match(entry["sha256"])) \
        and isinstance(entry.get("size"), int) and entry["size"] >= 0


def _head(path: Path, n: int, offset: int = 0) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def _is_hdf5(path: Path) -> bool:
    # The HDF5 superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... (h5py writes it at 0).
    size = path.stat().st_size
    offsets = [0] + [512 << k for k in range(8) if (512 << k) + 8 <= size]
    return any(_head(path, 8, offset) == HDF5_SIGNATURE for offset in offsets)


def _is_safetensors(path: Path, head: bytes) -> bool:
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 2 <= header_len <= min(path.stat().st_size - 8, 100 * 2**20) and head[8:9] == b"{"
