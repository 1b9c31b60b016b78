"""Side virtual environments: tools tfkit compares itself with but cannot depend on.

Some peers of tfkit's exports (MediaPipe Tasks, PyTorch, ONNX Runtime) pin
packages that conflict with tfkit's own (MediaPipe needs ``absl-py~=2.3``,
TF-MOT declares ``absl-py~=1.2``). Tests and benchmarks run them in a separate
virtual environment, created once per name under ``$TFKIT_ENV_DIR`` (default
``~/.cache/tfkit/envs``) and talked to through a subprocess; tfkit's install is
never touched.

An environment is built in a temporary folder beside its final place and renamed
into place only when ``pip`` succeeded, with a marker file that records the
requirement list and the base Python: an interrupted build leaves nothing half
made, and a changed list rebuilds. Run tools in it with ``python -m ...`` (a
renamed venv keeps working that way; its console scripts' shebangs would not).

Examples:
    >>> python = side_python("mediapipe", ["mediapipe==1.2.3"])          # doctest: +SKIP
    >>> subprocess.run([python, "-c", "import mediapipe"], check=True)     # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from tfkit.errors import ConfigError, SideEnvError

MARKER = "tfkit-side-env.json"


def env_root() -> Path:
    """The folder that holds every side environment: ``$TFKIT_ENV_DIR`` or ``~/.cache/tfkit/envs``.

    Examples:
        >>> env_root().name                                                     # doctest: +SKIP
        'envs'
    """
    return Path(os.environ.get("TFKIT_ENV_DIR") or Path.home() / ".cache" / "tfkit" / "envs")


def _python_in(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _marker(requirements: Sequence[str], base_python: str) -> dict[str, object]:
    if base_python == sys.executable:
        base = "%d.%d.%d" % sys.version_info[:3]
    else:
        base = subprocess.run([base_python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                              capture_output=True, text=True, check=False).stdout.strip()
    return {"requirements": list(requirements), "python": base}


def _check_name(name: str) -> None:
    if not name or name != Path(name).name or name.startswith("."):
        raise ConfigError(f"Expected a plain folder name for a side environment. Received: name={name!r}.")


def _matches(folder: Path, marker: dict[str, object]) -> bool:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")) == marker and _python_in(folder).is_file()
    except (OSError, ValueError):
        return False


def existing_side_python(name: str, requirements: Sequence[str], base_python: str | None = None) -> Path | None:
    """The side environment's python if it exists and was built from ``requirements``, else None.

    Examples:
        >>> existing_side_python("mediapipe", ["mediapipe==1.2.3"])        # doctest: +SKIP
        PosixPath('/home/me/.cache/tfkit/envs/mediapipe/bin/python')
    """
    _check_name(name)
    folder = env_root() / name
    return _python_in(folder) if _matches(folder, _marker(requirements, base_python or sys.executable)) else None


def side_python(name: str, requirements: Sequence[str], base_python: str | None = None,
                timeout: float = 3600.0) -> Path:
    """The python of side environment ``name`` with ``requirements`` installed, built on first use.

    Args:
        name: The environment's folder name under :func:`env_root`.
        requirements: ``pip install`` arguments (pinned versions, so a run is reproducible).
        base_python: The interpreter the venv is made from (default: the running one).
        timeout: Seconds ``pip`` may take.

    Returns:
        The path of the environment's python executable.

    Raises:
        SideEnvError: ``venv`` or ``pip`` failed (the message ends with pip's last output lines).

    Examples:
        >>> side_python("mediapipe", ["mediapipe==1.2.3"])                 # doctest: +SKIP
        PosixPath('/home/me/.cache/tfkit/envs/mediapipe/bin/python')
    """
    _check_name(name)
    base_python = base_python or sys.executable
    marker = _marker(requirements, base_python)
    root = env_root()
    target = root / name
    if _matches(target, marker):
        return _python_in(target)
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{name}-building-", dir=root))
    try:
        # Without requirements there is nothing to install, and no pip to bootstrap (ensurepip costs seconds).
        _run([base_python, "-m", "venv", *([] if requirements else ["--without-pip"]), str(building)],
             f"python -m venv for '{name}'", timeout)
        if requirements:
            _run([str(_python_in(building)), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                  *requirements], f"pip install {' '.join(requirements)} (side environment '{name}')", timeout)
        (building / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        _replace(building, target, marker)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return _python_in(target)


def _replace(building: Path, target: Path, marker: dict[str, object]) -> None:
    """Moves the finished environment into place; a concurrent build that got there first is kept."""
    if target.exists():
        if _matches(target, marker):
            return
        stale = Path(tempfile.mkdtemp(prefix=f".{target.name}-stale-", dir=target.parent))
        os.replace(target, stale / "env")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(building, target)
    except OSError:
        if not _matches(target, marker):
            raise


def _run(command: list[str], what: str, timeout: float) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SideEnvError(f"{what} could not run: {error}") from error
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise SideEnvError(f"{what} failed (exit code {result.returncode}). Check the network or index "
                           f"(pip's own configuration applies) and the requirement list. Last output:\n{tail}")
