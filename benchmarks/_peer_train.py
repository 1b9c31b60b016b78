"""PyTorch CPU fine-tuning as its users write it, for the peers benchmark (``peers_sst2.py``; peers environment).

transformers' ``AutoModelForSequenceClassification`` on the same checkpoint, batch 32, batches of
similar lengths padded per batch (sorted within shuffled pools of 50 batches, the batch order shuffled:
``group_by_length`` as transformers' Trainer does it), AdamW without decay on biases and LayerNorm,
linear warm-up/decay (``get_linear_schedule_with_warmup``), gradient-norm clip 1.0, then dev accuracy.

    python _peer_train.py CHECKPOINT TRAIN.npz DEV.npz --epochs 2 --learning-rate 5e-5 --warmup-ratio 0.1 \
        --threads 2 --seed 0 --out result.json

The ``.npz`` files hold the tokenized sentences (``_peer_runtime.sentences`` reads them) and labels.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from _peer_runtime import INPUTS, batches, sentences


def length_grouped(samples: list[dict], labels: np.ndarray, batch_size: int, rng: np.random.Generator) -> list:
    order = rng.permutation(len(samples))
    pool = 50 * batch_size
    out = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: -samples[i]["input_ids"].shape[1])
        for i in range(0, len(chunk), batch_size):
            rows = chunk[i:i + batch_size]
            batch = batches([samples[j] for j in rows], size=len(rows))[0]
            batch["labels"] = labels[rows]
            out.append(batch)
    rng.shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("train")
    parser.add_argument("dev")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup-ratio", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train, dev = dict(np.load(args.train)), dict(np.load(args.dev))
    train_samples, dev_samples = sentences(train), sentences(dev)
    model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint, num_labels=2)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [{"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
               "weight_decay": args.weight_decay},
              {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=args.learning_rate)
    steps_per_epoch = -(-len(train_samples) // args.batch_size)
    total = steps_per_epoch * args.epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total), total)
    epoch_seconds = []
    start = time.perf_counter()
    for _ in range(args.epochs):
        epoch_start = time.perf_counter()
        model.train()
        for batch in length_grouped(train_samples, train["labels"], args.batch_size, rng):
            out = model(**{name: torch.from_numpy(batch[name]) for name in INPUTS},
                        labels=torch.from_numpy(batch["labels"]))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
        epoch_seconds.append(time.perf_counter() - epoch_start)
    seconds = time.perf_counter() - start
    model.eval()
    predictions = []
    with torch.inference_mode():
        for batch in batches(dev_samples, size=64):
            predictions.append(model(**{name: torch.from_numpy(batch[name]) for name in INPUTS}).logits.argmax(1).numpy())
    accuracy = float(np.mean(np.concatenate(predictions) == dev["labels"]))
    Path(args.out).write_text(json.dumps({
        "seconds": seconds, "epoch_seconds": epoch_seconds,
        "examples_per_second": len(train_samples) * args.epochs / seconds, "dev_accuracy": accuracy,
        "torch": torch.__version__, "settings": vars(args)}))


if __name__ == "__main__":
    main()
