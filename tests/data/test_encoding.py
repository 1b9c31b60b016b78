"""File encodings: strict errors that name the line, ``encoding=``, ``encoding_errors="replace"``, the CLI flags."""

from __future__ import annotations

import pytest

import tfkit
from tfkit.cli.main import _load, build_parser
from tfkit.data.reading import read_table
from tfkit.errors import ConfigError, DataError

WINDOWS = "café – naïve"  # é, the en dash and ï are single bytes in cp1252, none of them valid UTF-8


def cp1252_file(path):
    path.write_bytes(("text,label\nfine film,pos\n" + f"{WINDOWS},neg\n" + "dull,neg\n").encode("cp1252"))
    return path


def test_cp1252_file_fails_strict_naming_line_offset_and_the_fix(tmp_path):
    path = cp1252_file(tmp_path / "export.csv")
    offset = path.read_bytes().index(b"\xe9")
    with pytest.raises(DataError) as err:
        tfkit.data.load(path)
    message = str(err.value)
    assert f"export.csv: line 3 is not valid UTF-8 (byte 0xe9 at offset {offset})" in message
    assert "encoding='cp1252' (CLI: --encoding cp1252)" in message
    assert "encoding_errors='replace'" in message


def test_cp1252_file_loads_with_its_encoding(tmp_path):
    data = tfkit.data.load(cp1252_file(tmp_path / "export.csv"), encoding="cp1252")
    assert data.texts == ("fine film", WINDOWS, "dull")
    assert data.replaced_rows == 0


def test_jsonl_strict_error_names_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "ok", "label": "a"}\n\n{"text": "caf\xe9", "label": "b"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl: line 3 is not valid UTF-8 \(byte 0xe9 at offset 43\)"):
        tfkit.data.load(path)
    assert tfkit.data.load(path, encoding="latin-1").texts == ("ok", "café")


def test_replace_counts_rows_not_lines_on_a_mixed_file(tmp_path):
    utf8 = 'text,label\n"naïve\nover two lines",pos\ngood,pos\n'.encode()
    path = tmp_path / "mixed.csv"
    path.write_bytes(utf8 + f"{WINDOWS},neg\n".encode("cp1252") + "ünïcode ok,neg\n".encode() + b"bad \x96,pos\n")
    with pytest.warns(UnicodeWarning, match=r"mixed\.csv: 2 data row\(s\) held bytes .*line 5"):
        data = tfkit.data.load(path, encoding_errors="replace")
    assert data.replaced_rows == 2
    assert data.texts == ("naïve\nover two lines", "good", "caf\ufffd \ufffd na\ufffdve", "ünïcode ok", "bad \ufffd")
    with pytest.warns(UnicodeWarning):
        assert read_table(path, encoding_errors="replace").replaced_rows == 2
    assert data.subset([0]).replaced_rows == 2, "subsets keep their source's count"


def test_replace_on_a_clean_file_counts_nothing(tmp_path, recwarn):
    path = tmp_path / "clean.csv"
    path.write_text("text,label\nnaïve,a\nb,b\n", encoding="utf-8")
    assert tfkit.data.load(path, encoding_errors="replace").replaced_rows == 0
    assert not [w for w in recwarn if issubclass(w.category, UnicodeWarning)]


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "utf-8-sig"])
def test_utf8_byte_order_mark_is_skipped(tmp_path, encoding):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "text,label\nnaïve,a\nb,b\n".encode())
    data = tfkit.data.load(path, encoding=encoding)
    assert data.texts == ("naïve", "b")


def test_utf16_file(tmp_path):
    path = tmp_path / "u16.tsv"
    path.write_bytes("text\tlabel\n日本語\ta\nb\tb\n".encode("utf-16"))
    assert tfkit.data.load(path, encoding="utf-16").texts == ("日本語", "b")


@pytest.mark.parametrize("encoding", ["no-such-codec", "base64", ""])
def test_unknown_encoding_is_a_config_error_naming_the_argument(tmp_path, encoding):
    with pytest.raises(ConfigError, match=rf"Received: encoding={encoding!r}"):
        tfkit.data.load(cp1252_file(tmp_path / "d.csv"), encoding=encoding)


def test_unknown_encoding_errors_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"encoding_errors to be one of .*Received: encoding_errors='ignore'"):
        read_table(cp1252_file(tmp_path / "d.csv"), encoding_errors="ignore")


def test_cli_encoding_flags_reach_the_loader(tmp_path):
    path = str(cp1252_file(tmp_path / "export.csv"))
    parser = build_parser()
    args = parser.parse_args(["evaluate", "model_dir", path, "--encoding", "cp1252"])
    assert _load(args, args.data).texts[1] == WINDOWS
    args = parser.parse_args(["evaluate", "model_dir", path])
    with pytest.raises(DataError, match="--encoding cp1252"):
        _load(args, args.data)
    args = parser.parse_args(["train", path, "--output", str(tmp_path / "run"), "--encoding-errors", "replace"])
    with pytest.warns(UnicodeWarning):
        assert _load(args, args.data).replaced_rows == 1
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "model_dir", path, "--encoding-errors", "ignore"])
