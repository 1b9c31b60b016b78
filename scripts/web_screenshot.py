"""Regenerates docs/web_page.png: tfkit's web page (tfkit/export/web_page.py) in headless Chromium, after it
has classified a sentence typed into it (the shot waits until the page shows the scores).

Without ``--model`` the page runs a tiny random BERT trained for a few seconds on the toy sentiment data of
the tests (``tests/conftest.py``), written as a MediaPipe file by tfkit's own metadata writer
(``tfkit.export.edge.write_mediapipe_file``): the layout, not a real model. Needs ``chromium`` and npm (or ``$TFKIT_MEDIAPIPE_WEB``).

Usage:
    python scripts/web_screenshot.py                                   # toy model, about 40 s
    python scripts/web_screenshot.py --model saved_models/sst2_minilm/edge_benchmark/export/mediapipe/model_dynamic_int8.tflite \\
        --title "SST-2 sentiment" --text "A warm, funny and beautifully acted film."
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def toy_model(folder: Path) -> Path:
    """The tests' toy classifier (tiny random BERT, 10 epochs on 48 toy sentences) as a MediaPipe file."""
    sys.path.insert(0, str(ROOT))
    import tfkit
    from tfkit._keras import keras
    from tfkit.testing import write_tiny_checkpoint
    from tfkit.export.edge import write_mediapipe_file
    from tfkit.export.graph import ServingModule

    from tests.conftest import toy_texts

    keras.utils.set_random_seed(0)
    texts, labels = toy_texts(48)
    toy = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(write_tiny_checkpoint(folder / "checkpoint", "bert", seed=0),
                                               labels=toy.labels, max_length=16, precision="float32")
    clf.compile(learning_rate=3e-3, batch_size=8)
    clf.fit(toy, epochs=10, verbose=0)
    return write_mediapipe_file(ServingModule(clf), folder / "toy_mediapipe.tflite")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a MediaPipe text-classifier file (default: the toy model)")
    parser.add_argument("--title", default="Toy sentiment")
    parser.add_argument("--text", default="the film was good and great fun")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "web_page.png")
    parser.add_argument("--size", default="800x460", help="WIDTHxHEIGHT in CSS pixels")
    args = parser.parse_args(argv)

    from tfkit.export.web_page import write_web_page
    from tfkit.testing.browser import screenshot

    width, height = (int(v) for v in args.size.split("x"))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tfkit-web-shot-") as folder:
        model = args.model or toy_model(Path(folder))
        page = write_web_page(Path(folder) / "web", model, title=args.title)
        screenshot(page, args.output, text=args.text, size=(width, height))
    print(f"{args.output} ({args.output.stat().st_size / 1e3:.0f} kB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
