"""tfkit's web page: MediaPipe Tasks for Web in headless Chromium classifies as MediaPipe's Python TextClassifier.

The browser tests (``slow``) need chromium, npm (or ``$TFKIT_MEDIAPIPE_WEB``) and MediaPipe's side environment
(``$TFKIT_MEDIAPIPE_PYTHON``); ``scripts/test.sh`` installs them. The page-writing tests need none of them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import tfkit
from tfkit._keras import keras, tf
from tfkit.errors import ConfigError, ExternalToolError, OutputExistsError
from tfkit.export import web_page
from tfkit.export.web_page import BUNDLE_FILES, MEDIAPIPE_WEB_VERSION, mediapipe_web_package, write_web_page
from tfkit.testing import browser
from tfkit.testing.browser import browser_classify, browser_labels

from tests.conftest import IN_CI, require, toy_texts

EDGE_CASES = ["", "   ", "GOOD Film!!", "the film good bad good bad awful great", "ünïcödé 😀 ## [CLS] [SEP] <b>",
              " ".join(["the film was good"] * 40)]  # longer than any max length: truncated by MediaPipe


# ---- writing the page: no browser, npm or MediaPipe needed -------------------------------------------------

@pytest.fixture
def fake_package(tmp_path):
    package = tmp_path / "node_modules" / "@mediapipe" / "tasks-text"
    for name in BUNDLE_FILES:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(json.dumps({"version": "9.9.9"}) if name == "package.json" else name)
    return package


@pytest.fixture
def fake_model(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64 + b"TFLITE_METADATA" + b"\x00" * 16)
    return path


def test_page_folder_holds_the_page_the_bundle_and_the_model(tmp_path, fake_package, fake_model):
    title = 'Reviews </script><b>"&'
    folder = write_web_page(tmp_path / "web", fake_model, title=title, package_dir=fake_package, log=lambda _: None)
    assert folder == tmp_path / "web"
    for name in ("index.html", "app.js", "style.css", "model.tflite", "web_page.json", "mediapipe/text_bundle.js",
                 "mediapipe/wasm/text_wasm_internal.wasm", "mediapipe/wasm/text_wasm_nosimd_internal.js"):
        assert (folder / name).is_file(), name
    assert (folder / "model.tflite").read_bytes() == fake_model.read_bytes()
    assert (folder / "mediapipe/text_bundle.js").read_text() == "text_bundle.mjs"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "{{" not in page and "<b>" not in page.split("<body>")[1].split("<script>")[0]
    config = json.loads(re.search(r'id="tfkit-config">(.*?)</script>', page, re.S).group(1))
    assert config == {"title": title, "model": "model.tflite", "mediapipe_version": "9.9.9", "serve_root": ".",
                      "page_path": ""}
    assert "connect-src 'self'" in page  # nothing but its own server: no CDN, no usage logging
    for name in ("index.html", "app.js", "style.css"):
        assert not re.search(r"https?://(?!localhost)", (folder / name).read_text(encoding="utf-8")), name
    manifest = json.loads((folder / "web_page.json").read_text())
    assert manifest["mediapipe_web"] == {"package": "@mediapipe/tasks-text", "version": "9.9.9"}
    assert manifest["model_bytes"] == fake_model.stat().st_size and len(manifest["model_sha256"]) == 64
    with pytest.raises(OutputExistsError):
        write_web_page(folder, fake_model, package_dir=fake_package, log=lambda _: None)


def test_page_can_reference_its_model_beside_it(tmp_path, fake_package, fake_model):
    folder = write_web_page(tmp_path / "web", fake_model, copy_model=False, package_dir=fake_package,
                            log=lambda _: None)
    assert not (folder / "model.tflite").exists()
    manifest = json.loads((folder / "web_page.json").read_text())
    assert (manifest["model"], manifest["serve_root"], manifest["open"]) == ("../model.tflite", "..",
                                                                            "http://localhost:8000/web/")


def test_files_that_are_not_mediapipe_models_are_refused(tmp_path, fake_package, fake_model):
    plain = tmp_path / "plain.tflite"
    plain.write_bytes(fake_model.read_bytes().replace(b"TFLITE_METADATA", b"x" * 15))
    with pytest.raises(ConfigError, match="MediaPipe's text-classifier metadata"):
        write_web_page(tmp_path / "a", plain, package_dir=fake_package)
    with pytest.raises(ConfigError, match="TFL3"):
        write_web_page(tmp_path / "b", fake_package / "package.json", package_dir=fake_package)
    with pytest.raises(ConfigError, match="does not exist"):
        write_web_page(tmp_path / "c", tmp_path / "missing.tflite", package_dir=fake_package)
    assert not any((tmp_path / name).exists() for name in "abc")


def test_package_comes_from_the_argument_the_environment_or_npm(tmp_path, fake_package, monkeypatch):
    monkeypatch.setenv("TFKIT_MEDIAPIPE_WEB", str(fake_package))
    assert mediapipe_web_package() == fake_package
    (fake_package / "wasm" / "text_wasm_internal.wasm").unlink()
    with pytest.raises(ConfigError, match=r"TFKIT_MEDIAPIPE_WEB, without wasm/text_wasm_internal.wasm"):
        mediapipe_web_package()
    monkeypatch.delenv("TFKIT_MEDIAPIPE_WEB")
    monkeypatch.setattr(web_page.shutil, "which", lambda name: None)
    with pytest.raises(ExternalToolError, match=r"Expected npm on PATH .*Received: no npm\. Install Node\.js"):
        mediapipe_web_package(cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / f"tasks-text-{MEDIAPIPE_WEB_VERSION}").exists()


def test_harness_names_what_is_missing(monkeypatch):
    monkeypatch.delenv("TFKIT_CHROMIUM", raising=False)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(ExternalToolError, match="apt-get install -y chromium"):
        browser_labels(".", ["good"])


# ---- in the browser -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tools():
    """Chromium, the npm package, MediaPipe's side environment: skipped without them (failed in CI)."""
    from tfkit.export.mediapipe_runtime import mediapipe_python

    try:
        browser.find_chromium()
        package = mediapipe_web_package(log=lambda _: None)
        python = mediapipe_python(create=IN_CI)  # in CI a failed build fails the test (SideEnvError)
    except (ExternalToolError, ConfigError) as err:
        require(False, str(err))
    require(python is not None, "no MediaPipe side environment (set TFKIT_MEDIAPIPE_PYTHON, or build it with "
                                "tfkit.export.mediapipe_runtime.mediapipe_python(create=True))")
    return package


@pytest.fixture(scope="module")
def mediapipe_model(tools, tiny_checkpoint, tmp_path_factory):
    """A tiny BERT that learnt the toy task, as MediaPipe's text-classifier file."""
    from tfkit.export.edge import write_mediapipe_file
    from tfkit.export.graph import ServingModule

    keras.utils.set_random_seed(0)
    texts, labels = toy_texts(48)
    toy = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy.labels, max_length=16,
                                               precision="float32", freeze_embeddings=False)  # random: must learn
    clf.compile(learning_rate=3e-3, batch_size=8)
    clf.fit(toy, epochs=10, verbose=0)
    return write_mediapipe_file(ServingModule(clf), tmp_path_factory.mktemp("mediapipe") / "toy_mediapipe.tflite")


@pytest.fixture(scope="module")
def page(tools, mediapipe_model, tmp_path_factory):
    return write_web_page(tmp_path_factory.mktemp("web") / "web", mediapipe_model, title="Toy sentiment",
                          example="the film bad awful", package_dir=tools, log=lambda _: None)


@pytest.mark.slow
def test_browser_classifies_as_mediapipe_python(page, mediapipe_model):
    from tfkit.export.mediapipe_runtime import MediaPipeTextClassifier

    sentences = toy_texts(64, seed=1)[0] + EDGE_CASES
    run = browser_classify(page, sentences, timeout=120)
    with MediaPipeTextClassifier(mediapipe_model) as mediapipe:
        reference = [dict(zip(mediapipe.labels, row)) for row in mediapipe.scores(sentences).tolist()]
    assert [r["text"] for r in run.results] == sentences
    assert all(set(r["scores"]) == {"neg", "pos"} for r in run.results)  # label names from the metadata
    expected = [max(row, key=row.get) for row in reference]
    assert set(expected) == {"neg", "pos"}
    agreement = np.mean([r["label"] == label for r, label in zip(run.results, expected)])
    assert agreement >= 0.99
    difference = max(abs(r["scores"][name] - row[name]) for r, row in zip(run.results, reference) for name in row)
    assert difference < 1e-4
    assert run.wasm == "text_wasm_internal.wasm" and "HeadlessChrome" in run.user_agent
    print(f"\nweb page: agreement {agreement:.4f}, max score difference {difference:.2e}, load {run.load_ms:.0f} ms, "
          f"{run.classify_ms / len(sentences):.2f} ms per sentence, {run.wall_s:.1f} s in all")


@pytest.mark.slow
def test_page_serves_its_model_from_a_sibling_file(tools, mediapipe_model, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(mediapipe_model, export / "model_mediapipe.tflite")
    folder = write_web_page(export / "web", export / "model_mediapipe.tflite", copy_model=False, package_dir=tools,
                            log=lambda _: None)
    ours = browser_labels(folder, ["the film good great", "the film awful dull"])  # serves export/ (web_page.json)
    assert [r["label"] for r in ours] == ["pos", "neg"]
    done = subprocess.run([browser.find_chromium(), *browser.CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                           "--dump-dom", (folder / "index.html").as_uri()], capture_output=True, text=True, timeout=60)
    assert f'-d "{export}" 8000' in done.stdout and "http://localhost:8000/web/" in done.stdout


@pytest.mark.slow
def test_a_page_error_is_reported_not_waited_for(page, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(page, broken)
    data = bytearray((broken / "model.tflite").read_bytes())
    data[8:] = bytes(len(data) - 8)  # the flatbuffer's tables gone: MediaPipe cannot load it
    (broken / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(ExternalToolError, match="the page's error"):
        browser_labels(broken, ["good"], timeout=60)


@pytest.mark.slow
def test_opened_as_a_file_the_page_says_how_to_serve_it(page, tmp_path):
    done = subprocess.run([browser.find_chromium(), *browser.CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                           "--dump-dom", (page / "index.html").as_uri()], capture_output=True, text=True, timeout=60)
    status = re.search(r'<p id="status"[^>]*>(.*?)</p>', done.stdout, re.S).group(1)
    assert f'python -m http.server -d "{page}" 8000' in status and "http://localhost:8000/<" in status


@pytest.mark.slow
def test_typed_text_is_classified_and_shown(page, tmp_path):
    # the page starts on its negative example; typing a positive sentence moves the top bar to "pos"
    shot = browser.screenshot(page, tmp_path / "page.png", text="the film good great", size=(640, 400),
                              timeout=60)
    pixels = tf.io.decode_png(shot.read_bytes(), channels=3).numpy().astype(int)
    assert pixels.shape == (400, 640, 3)

    def rows_of(colour):  # the pixel rows a bar colour of style.css covers
        return np.nonzero((np.abs(pixels - np.array(colour)).sum(axis=2) < 8))[0]

    top, other = rows_of([0x2F, 0x6F, 0xB0]), rows_of([0x8F, 0xB8, 0xDE])  # --top, --bar
    assert len(top) > 2000 and len(other) > 50
    assert top.mean() > other.mean()  # the top label's bar is the second row: "pos" (rows in label order)
