"""Atomic file and directory writes: outputs appear whole or not at all.

Examples:
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (root / "out" / "a.txt").read_text()
    'hi'

Temporary names carry the writer's pid (``.out.tmp-<pid>-XXXX``, ``.out.old-<pid>-XXXX``), so the
leftovers of a killed writer can be told from a live writer's: the next write of the same target
removes those whose pid is gone (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tfkit.errors import DiskFullError, OutputExistsError


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yields a temporary sibling directory that is renamed to ``path`` on success.

    On an exception the temporary directory is removed and ``path`` is left as
    it was. An existing ``path`` is replaced only when ``overwrite`` is true.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false.
        DiskFullError: the device filled up (``ENOSPC``); ``path`` is as it was.
    """
    path = Path(path)
    remove_stale_temporaries(path)  # first: it may put a killed writer's previous output back
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"Output directory already exists. Received: path='{path}'. "
            "Pass overwrite=True (CLI: --overwrite) or choose another path."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(path, "tmp"), dir=path.parent))
    except OSError as err:
        raise _disk_full(err, path) if _is_disk_full(err) else err
    try:
        yield tmp
        _swap_into_place(tmp, path)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if _is_disk_full(err):
            raise _disk_full(err, path) from err
        raise


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Renames ``tmp`` to ``path``; an existing ``path`` is moved aside first and put back if that fails."""
    if not path.exists():
        os.replace(tmp, path)
        return
    trash = Path(tempfile.mkdtemp(prefix=_prefix(path, "old"), dir=path.parent))
    try:
        os.replace(path, trash / path.name)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(trash / path.name, path)
            raise
    finally:
        if path.exists():  # never delete the only copy of the previous output
            shutil.rmtree(trash, ignore_errors=True)


def _prefix(path: Path, kind: str) -> str:
    return f".{path.name}.{kind}-{os.getpid()}-"


_TEMPORARY = re.compile(r"(tmp|old)-(\d+)-[a-z0-9_]+")  # after ".<name>."; mkdtemp's suffix has no "-" or "."


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Removes the temporary siblings of ``path`` left by writers that died (their pid is gone).

    A sibling whose pid is alive, or whose name does not parse, is kept. A killed writer's
    ``.old-`` folder that still holds the previous output (killed between its two renames)
    puts it back at ``path`` when ``path`` is missing. Only sound where pids are local:
    a writer on another host that shares the folder is taken for a dead one.

    Examples:
        >>> import pathlib, tempfile
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / ".out.tmp-0-abc").mkdir()   # pid 0 is never a writer: kept
        >>> remove_stale_temporaries(root / "out")
        []
    """
    path, head, removed = Path(path), f".{Path(path).name}.", []
    try:
        siblings = [p for p in path.parent.iterdir() if p.name.startswith(head)]
    except FileNotFoundError:
        return removed
    for sibling in siblings:
        match = _TEMPORARY.fullmatch(sibling.name[len(head):])
        if match is None or _alive(int(match.group(2))):
            continue
        old = sibling / path.name
        if match.group(1) == "old" and not path.exists() and old.is_dir() and not old.is_symlink():
            with contextlib.suppress(OSError):
                os.replace(old, path)
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):  # gone already, or not ours to remove
                sibling.unlink()
        removed.append(sibling)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (pids that cannot be a writer, such as 0, count as alive)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, OSError):  # PermissionError: alive, another user's
        return True
    return True


@contextlib.contextmanager
def atomic_text_output(path: str | os.PathLike) -> Iterator[Any]:
    """Yields a UTF-8 text stream on a temporary sibling of ``path``, renamed to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was; a full
    disk becomes a :class:`DiskFullError`. The temporary name carries the writer's pid, so a
    killed writer's leftover is removed by the next write (:func:`remove_stale_temporaries`).

    Examples:
        >>> import pathlib, tempfile
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.jsonl"
        >>> with atomic_text_output(out) as f:
        ...     _ = f.write("{}\\n")
        >>> out.read_text()
        '{}\\n'
    """
    path = Path(path)
    remove_stale_temporaries(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_prefix(path, "tmp"), dir=path.parent)
    except OSError as err:
        raise _disk_full(err, path) if _is_disk_full(err) else err
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _is_disk_full(err):
            raise _disk_full(err, path) from err
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes ``text`` to ``path`` through a temporary file and a rename.

    Raises:
        DiskFullError: the device filled up (``ENOSPC``); ``path`` is as it was.
    """
    with atomic_text_output(path) as stream:
        stream.write(text)
    return Path(path)


def _is_disk_full(err: BaseException) -> bool:
    # h5py reports a full disk in a multi-line OSError, TensorFlow in its own error classes (no errno).
    if not isinstance(err, Exception):
        return False
    return getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(err)


def _disk_full(err: BaseException, path: Path) -> DiskFullError:
    """A :class:`DiskFullError` naming the output ``path`` (of a nested write: its OS error)."""
    if isinstance(err, DiskFullError) and err.__cause__ is not None:
        err = err.__cause__
    detail = (str(err).strip().splitlines() or [""])[0][:200]  # h5py's messages run over many lines
    return DiskFullError(errno.ENOSPC, (
        f"No space left on device while writing '{path}'; previous outputs kept. Expected enough free space "
        f"on the device holding '{path.parent}'. Received: {type(err).__name__}: {detail}. Free some space (or "
        "choose another output folder) and run the command again."))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Writes ``obj`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend (figures are only saved)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def atomic_save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Saves a matplotlib figure as PNG through a temporary file and a rename, then closes it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    pyplot().close(fig)
    os.replace(tmp, path)
    return path


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "value"):  # enums
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")
