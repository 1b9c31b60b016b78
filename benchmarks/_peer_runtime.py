"""One timing harness for every inference runtime of the peers benchmark (``peers_sst2.py``).

Run once per runtime and round, in a fresh process, so load time and peak memory are that runtime's
alone. It runs in tfkit's environment for LiteRT (tfkit's exported ``.tflite`` files, through
``tfkit.export.runtime.LiteRTModel`` without importing TensorFlow, as an app would not) and in the
peers' own virtual environment for PyTorch and ONNX Runtime. It needs only numpy besides the runtime.

    python _peer_runtime.py RUNTIME MODEL TOKENS.npz --threads 2 --out result.json
    python _peer_runtime.py onnx-export PYTORCH_DIR OUT_DIR        (peers environment: fp32 + int8 ONNX)

RUNTIME is ``litert`` (one interpreter, resized per length: tfkit's runner), ``litert_per_length`` (an
interpreter per length, the runner's old cache, reported beside it), ``torch``, ``torch_int8``
(``torch.ao.quantization.quantize_dynamic``) or ``ort``.
Every runtime gets the same token ids (tfkit's tokenizer, cut to the model's max length): batch 1 at each
sentence's real length, then batches of 32 in file order padded to their longest sentence. A warm-up pass
over all inputs comes first (LiteRT packs its weights on its first run, and the per-length cache prepares
its interpreters; PyTorch and ONNX Runtime warm their allocators), then one timed pass.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

START = time.perf_counter()
PER_LENGTH_INTERPRETERS = 64  # tfkit's runner before: an interpreter per input length (dev has 52 lengths)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def sentences(tokens: dict) -> list[dict[str, np.ndarray]]:
    """Batch-1 inputs at each sentence's real length, from the flat ids and their lengths."""
    ends = np.cumsum(tokens["lengths"])
    out = []
    for end, length in zip(ends, tokens["lengths"]):
        ids = tokens["input_ids"][end - length:end][None, :]
        out.append({"input_ids": ids, "attention_mask": np.ones_like(ids),
                    "token_type_ids": tokens["token_type_ids"][end - length:end][None, :]})
    return out


def batches(samples: list[dict[str, np.ndarray]], size: int = 32) -> list[dict[str, np.ndarray]]:
    """Batches of ``size`` in order, each padded (id 0, mask 0) to its longest sentence."""
    out = []
    for i in range(0, len(samples), size):
        chunk = samples[i:i + size]
        width = max(s["input_ids"].shape[1] for s in chunk)
        batch = {name: np.zeros((len(chunk), width), np.int64) for name in INPUTS}
        for row, sample in enumerate(chunk):
            for name in INPUTS:
                batch[name][row, :sample[name].shape[1]] = sample[name][0]
        out.append(batch)
    return out


def litert(model: str, threads: int, max_interpreters: int = 1):
    # tfkit's runner, without tfkit's package __init__ (which loads TensorFlow): an app has LiteRT only.
    root = Path(__file__).resolve().parents[1] / "tfkit"
    for name, folder in (("tfkit", root), ("tfkit.export", root / "export")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules.setdefault(name, package)
    from tfkit.export.runtime import LiteRTModel

    runner = LiteRTModel(model, num_threads=threads, max_interpreters=max_interpreters)
    names = runner.input_names
    return lambda features: runner({name: features[name].astype(np.int32) for name in names})


def torch_runner(model: str, threads: int, int8: bool):
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    net = AutoModelForSequenceClassification.from_pretrained(model, torch_dtype=torch.float32).eval()
    if int8:
        net = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)  # the size of the model as torch.save writes it
    size_bytes = buffer.getbuffer().nbytes

    def run(features):
        with torch.inference_mode():
            return net(**{name: torch.from_numpy(features[name]) for name in INPUTS}).logits.numpy()

    run.size_bytes = size_bytes
    return run


def ort_runner(model: str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda features: session.run(None, {name: features[name].astype(np.int64) for name in names})[0]


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``getrusage``'s ``ru_maxrss``, which ``execve`` keeps
    from the parent, so every child of a large parent would report at least the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def versions(runtime: str) -> dict[str, str]:
    if runtime.startswith("litert"):
        from importlib.metadata import version

        return {"ai-edge-litert": version("ai-edge-litert")}
    if runtime.startswith("torch"):
        import torch
        import transformers

        return {"torch": torch.__version__, "transformers": transformers.__version__}
    import onnxruntime

    return {"onnxruntime": onnxruntime.__version__}


def measure(runtime: str, model: str, tokens_file: str, threads: int, batch1: bool = True) -> dict:
    tokens = dict(np.load(tokens_file))
    samples = sentences(tokens)
    loaded = time.perf_counter()
    run = {"litert": lambda: litert(model, threads),
           "litert_per_length": lambda: litert(model, threads, PER_LENGTH_INTERPRETERS),
           "torch": lambda: torch_runner(model, threads, False),
           "torch_int8": lambda: torch_runner(model, threads, True), "ort": lambda: ort_runner(model, threads)}[runtime]()
    load_seconds = time.perf_counter() - loaded
    result = {"runtime": runtime, "model": model, "threads": threads, "versions": versions(runtime),
              "load_seconds": load_seconds, "start_to_ready_seconds": time.perf_counter() - START,
              "sentences": len(samples), "size_bytes": getattr(run, "size_bytes", None)}
    if batch1:
        logits = np.concatenate([run(s) for s in samples])  # warm-up, and the outputs scored
        times = []
        for sample in samples:
            start = time.perf_counter()
            run(sample)
            times.append((time.perf_counter() - start) * 1000.0)
        result.update(batch1_ms=times, predictions=logits.argmax(1).tolist())
    padded = batches(samples)
    b32_logits = np.concatenate([run(b) for b in padded])
    start = time.perf_counter()
    for batch in padded:
        run(batch)
    seconds = time.perf_counter() - start
    result.update(b32_seconds=seconds, b32_sentences_per_second=len(samples) / seconds,
                  b32_predictions=b32_logits.argmax(1).tolist(),
                  peak_rss_mb=peak_rss_mb())
    return result


def onnx_export(pytorch_dir: str, out_dir: str) -> dict:
    """``torch.onnx.export`` of the PyTorch model (dynamic batch and length), then ONNX Runtime's
    ``quant_pre_process`` and ``quantize_dynamic`` (int8 weights, QInt8), as ONNX Runtime's documentation does it."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from transformers import AutoModelForSequenceClassification

    out = Path(out_dir).resolve()  # absolute: the quantizer runs in a scratch folder
    out.mkdir(parents=True, exist_ok=True)
    net = AutoModelForSequenceClassification.from_pretrained(pytorch_dir, torch_dtype=torch.float32).eval()
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in INPUTS)
    fp32, int8 = out / "model_fp32.onnx", out / "model_int8.onnx"
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    torch.onnx.export(net, example, str(fp32), input_names=list(INPUTS), output_names=["logits"],
                      dynamic_axes={**axes, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    onnx.checker.check_model(str(fp32))
    prepared = out / "model_fp32_preprocessed.onnx"  # shape inference and graph clean-up first, as ORT advises
    # Both write scratch files (sym_shape_infer_temp.onnx, <uuid>.data) into the working folder: give them one to drop.
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        quant_pre_process(str(fp32), str(prepared), auto_merge=True)
        quantize_dynamic(str(prepared), str(int8), weight_type=QuantType.QInt8)
    return {"fp32": str(fp32), "int8": str(int8), "exporter": "torch.onnx.export (TorchScript), opset 17",
            "quantizer": "onnxruntime.quantization quant_pre_process, then quantize_dynamic (QInt8 weights)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runtime", choices=["litert", "litert_per_length", "torch", "torch_int8", "ort", "onnx-export"])
    parser.add_argument("model")
    parser.add_argument("tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-batch1", action="store_true", help="batch-32 throughput only")
    parser.add_argument("--out", required=False)
    args = parser.parse_args()
    if args.runtime == "onnx-export":
        result = onnx_export(args.model, args.tokens)
    else:
        result = measure(args.runtime, args.model, args.tokens, args.threads, batch1=not args.no_batch1)
    text = json.dumps(result)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
