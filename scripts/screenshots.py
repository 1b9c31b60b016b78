"""Regenerates docs/report.png and docs/tensorboard*.png from a short demo-like run.

The run: a BBC News subset fine-tuned from the default MiniLM checkpoint, a two-trial
tune, a prune and an export (float32 + dynamic int8) with a bench on the test split,
then ``report.html``; about five minutes on two CPU cores. ``--tiny`` uses a tiny random
BERT instead (seconds, but chance-level figures); ``--run DIR`` skips training and
shoots an existing run folder.

Needs ``chromium`` (``apt-get install -y chromium``) and TensorBoard, which is bound to
127.0.0.1 only and stopped afterwards.

Usage:
    python scripts/screenshots.py                      # real small run into saved_models/screenshots
    python scripts/screenshots.py --run saved_models/bbc_news
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = ("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars")


def make_run(folder: Path, tiny: bool, examples: int) -> None:
    """Fine-tune, tune, prune and export into ``folder``, as the demo does, on a subset of BBC News."""
    import tfkit
    from tfkit.export import ExportConfig
    from tfkit.export.bench import bench
    from tfkit.optimize import PruningConfig
    from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune
    from tfkit.pipeline.export import export_stage
    from tfkit.pipeline.prune import prune_stage
    from tfkit.pipeline.tune import TuneConfig, tune
    from tfkit.reporting import write_run_report
    from tfkit.reporting.tensorboard import log_files
    from tfkit.testing import write_tiny_checkpoint

    checkpoint = str(write_tiny_checkpoint(Path(tempfile.mkdtemp()), "bert", seed=0)) if tiny \
        else str(tfkit.models.default_checkpoint())
    data = tfkit.data.bbc_news().take(examples, seed=0)
    rest, test = data.split(0.25, seed=0)
    train, validation = rest.split(0.15, seed=0)
    run = RunDirectory(folder)
    common = {"checkpoint": checkpoint, "precision": "float32"}
    finetune(train, validation, FinetuneConfig(epochs=3, max_length=96, batch_size=16, learning_rate=1e-4, **common),
             run, evaluation=test, overwrite=True, verbose=2)
    tune(train, validation, TuneConfig(tuner="random", max_trials=2, objective="val_accuracy", seed=0, **common,
                                       space={"learning_rate": (5e-5, 2e-4), "batch_size": 16, "epochs": 1,
                                              "max_length": 96}), run, overwrite=True)
    prune_stage(train, validation, PruningConfig(target_sparsity=0.5, frequency=4, epochs=1, batch_size=16,
                                                 learning_rate=5e-5), run, measure_tflite=False, overwrite=True,
                verbose=2)
    exported = export_stage(train, validation, ExportConfig(quantization=("float32", "dynamic_int8"),
                                                            validation_samples=100, representative_samples=100,
                                                            force=True), run, overwrite=True)
    bench(exported.path, run.stage("prune") / "model", test, output_dir=exported.path / "test_bench")
    log_files(exported.path / "logs" / "bench", "bench", exported.path / "test_bench" / "bench.md",
              exported.path / "test_bench" / "bench.png")
    write_run_report(folder)
    run.release()


def chromium(*args: str, profile: Path) -> None:
    subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", *args], check=True, capture_output=True, timeout=180)


def shoot_tensorboard(run: Path, out: Path, profile: Path, port: int = 6006) -> list[Path]:
    """Starts TensorBoard on 127.0.0.1 only, screenshots its dashboards, stops it."""
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(run), "--host", "127.0.0.1",
                               "--port", str(port), "--reload_interval", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shots = []
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/data/runs", timeout=2) as reply:
                    if reply.status == 200 and len(reply.read()) > 2:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("TensorBoard did not come up on 127.0.0.1:%d" % port)
        time.sleep(3)  # first load of the event files
        for name, dashboard in (("tensorboard.png", "scalars&tagFilter=epoch_(loss|accuracy|learning_rate)"),
                                ("tensorboard_images.png", "images"), ("tensorboard_text.png", "text")):
            shot = out / name
            chromium(f"--screenshot={shot}", "--window-size=1400,1000", "--virtual-time-budget=15000",
                     f"{url}/#{dashboard}", profile=profile)
            shots.append(shot)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder to shoot (skips training)")
    parser.add_argument("--output", type=Path, default=ROOT / "saved_models" / "screenshots",
                        help="where the new run goes")
    parser.add_argument("--tiny", action="store_true", help="a tiny random model instead of MiniLM")
    parser.add_argument("--examples", type=int, default=600, help="BBC News examples to use")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    if shutil.which("chromium") is None:
        parser.error("chromium is not installed: apt-get install -y --no-install-recommends chromium")
    run = args.run
    if run is None:
        run = args.output
        make_run(run, args.tiny, args.examples)
    else:  # the report of an existing run is rebuilt from its stage folders (seconds)
        from tfkit.reporting import write_run_report

        write_run_report(run)
    args.docs.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    try:
        report = args.docs / "report.png"
        chromium(f"--screenshot={report}", "--window-size=1200,2600", (run / "report.html").resolve().as_uri(),
                 profile=profile)
        shots = [report, *shoot_tensorboard(run, args.docs, profile)]
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print("\n".join(str(s) for s in shots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
