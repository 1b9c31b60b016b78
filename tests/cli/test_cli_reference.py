"""README.md's CLI reference is the parser's current --help (regenerate: python scripts/cli_reference.py)."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_cli_reference_is_current():
    script = _script()
    text = script.README.read_text(encoding="utf-8")
    expected = script.render(text, script.reference())
    diff = "".join(list(difflib.unified_diff(text.splitlines(True), expected.splitlines(True), "README.md",
                                             "generated", n=1))[:60])
    assert expected == text, f"README.md's CLI reference is out of date: run python scripts/cli_reference.py\n{diff}"


def test_every_command_and_flag_is_in_the_reference():
    script = _script()
    parser = script.parser()
    body = script.reference(parser)
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        assert f"### `tfkit {name}`" in body
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in body, f"tfkit {name} {flag}"
    assert "-v, --verbose" in body


def test_a_new_flag_makes_the_readme_stale():
    script = _script()
    text = script.README.read_text(encoding="utf-8")
    parser = script.parser()
    train = next(a for a in parser._actions if a.dest == "command").choices["train"]
    train.add_argument("--brand-new-flag", help="not in README.md yet")
    assert script.render(text, script.reference(parser)) != text
