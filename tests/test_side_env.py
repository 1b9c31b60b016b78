"""Side virtual environments: built once, rebuilt when the requirement list changes, never left half made."""

from __future__ import annotations

import subprocess

import pytest

from tfkit._side_env import MARKER, env_root, existing_side_python, side_python
from tfkit.errors import ConfigError, SideEnvError


@pytest.fixture
def envs(tmp_path, monkeypatch):
    monkeypatch.setenv("TFKIT_ENV_DIR", str(tmp_path / "envs"))
    return tmp_path / "envs"


def test_built_once_rebuilt_for_a_new_list_and_kept_when_pip_fails(envs, tmp_path, monkeypatch):
    import tfkit._side_env as side_env

    assert env_root() == envs and existing_side_python("demo", []) is None
    python = side_python("demo", [])
    assert python.is_relative_to(envs / "demo")
    assert subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True,
                          check=True).stdout.strip().endswith("demo")  # works after the rename into place
    with monkeypatch.context() as patch:  # built once: a second call runs neither venv nor pip
        patch.setattr(side_env, "_run", lambda command, *_: pytest.fail(f"rebuilt: {command}"))
        assert side_python("demo", []) == python and existing_side_python("demo", []) == python

    # A changed list rebuilds ("pip" is installed already, so pip needs no index).
    side_python("demo", ["pip"])
    assert existing_side_python("demo", []) is None and existing_side_python("demo", ["pip"]) == python

    with pytest.raises(SideEnvError, match=r"pip install .*missing-package.*failed \(exit code"):
        side_python("demo", ["pip", str(tmp_path / "missing-package")])
    assert existing_side_python("demo", ["pip"]) == python  # the working environment is untouched
    assert sorted(p.name for p in envs.iterdir()) == ["demo"]  # no build folder left behind


@pytest.mark.parametrize("name", ["", "../up", ".hidden", "a/b"])
def test_names_stay_inside_the_env_folder(envs, name):
    with pytest.raises(ConfigError, match="plain folder name"):
        side_python(name, [])
