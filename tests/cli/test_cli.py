"""The command line: every flag documented, and train -> evaluate -> predict on a tiny model."""

from __future__ import annotations

import json

import pytest

from tfkit.cli.main import COMMANDS, build_parser, main
from tests.conftest import toy_texts


def _subparser(name):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_documents_every_flag(command, capsys):
    sub = _subparser(command)
    for action in sub._actions:
        if action.dest != "help":
            assert action.help, f"{command} {action.option_strings or action.dest} has no help text"
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in out


def test_train_evaluate_predict(tmp_path, tiny_checkpoint, capsys):
    texts, labels = toy_texts(48)
    train_csv = tmp_path / "train.csv"
    train_csv.write_text("review,sentiment\n" + "".join(f"{t},{l}\n" for t, l in zip(texts, labels)))
    run = tmp_path / "run"
    code = main(["train", str(train_csv), "--text-column", "review", "--label-column", "sentiment",
                 "--checkpoint", str(tiny_checkpoint), "--output", str(run), "--epochs", "2",
                 "--max-length", "16", "--learning-rate", "1e-3", "--batch-size", "8"])
    assert code == 0
    out = capsys.readouterr().out
    model = run / "01_finetune" / "model"
    assert str(model) in out and "macro_f1" in out
    stage = json.loads((run / "01_finetune" / "stage.json").read_text())
    assert stage["status"] == "complete" and stage["config"]["epochs"] == 2
    assert (run / "01_finetune" / "report" / "confusion_matrix.png").is_file()

    # a finished stage is not silently redone
    assert main(["train", str(train_csv), "--text-column", "review", "--label-column", "sentiment",
                 "--checkpoint", str(tiny_checkpoint), "--output", str(run)]) == 2
    assert "already complete" in capsys.readouterr().err

    assert main(["evaluate", str(model), str(train_csv), "--text-column", "review", "--label-column",
                 "sentiment", "--output", str(tmp_path / "eval")]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert (tmp_path / "eval" / "report.json").is_file()

    assert main(["predict", str(model), "good film", "awful plot"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["text"] for line in lines] == ["good film", "awful plot"]
    assert all(line["label"] in ("neg", "pos") for line in lines)

    assert main(["predict", str(model), "--input", str(train_csv), "--text-column", "review",
                 "--output", str(tmp_path / "pred.jsonl")]) == 0
    assert len((tmp_path / "pred.jsonl").read_text().splitlines()) == 48


def test_bad_input_is_a_clean_error(tmp_path, tiny_checkpoint, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,a\n  ,b\n")
    code = main(["train", str(bad), "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "run")])
    assert code == 2
    assert "row 2, column 'text'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
