"""MediaPipe Tasks TextClassifier worker: runs in the MediaPipe side environment, never imports tfkit.

Started as ``python _mediapipe_worker.py MODEL``. Speaks JSON lines: on start it writes
``{"ok": true, "labels": [...], "mediapipe": VERSION}`` (label names by output index, read by
classifying one warm-up text) or ``{"ok": false, "error": ...}``; then for each request
``{"texts": [...]}`` it answers ``{"ok": true, "results": [[score by index, ...], ...],
"latencies_ms": [...]}``, each latency the ``classify`` call alone (tokenisation included).
A failed call answers ``{"ok": false, "error": ..., "usable": bool}``, ``usable`` measured by
classifying the warm-up text again; an unusable worker exits. End of input closes it.
"""

from __future__ import annotations

import json
import os
import sys
import time

WARM_UP = "a"


def main() -> int:
    # The protocol keeps the real stdout; anything native code prints goes to stderr.
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def send(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    try:
        import mediapipe
        from mediapipe.tasks.python import text
        from mediapipe.tasks.python.core.base_options import BaseOptions

        options = text.TextClassifierOptions(base_options=BaseOptions(model_asset_path=sys.argv[1]), max_results=-1)
        classifier = text.TextClassifier.create_from_options(options)
        categories = classifier.classify(WARM_UP).classifications[0].categories
        labels = [""] * len(categories)
        for category in categories:
            labels[category.index] = category.category_name
    except Exception as error:  # report any failure to load, whatever its type
        send({"ok": False, "error": f"{type(error).__name__}: {error}"})
        return 1
    send({"ok": True, "labels": labels, "mediapipe": mediapipe.__version__})

    for line in sys.stdin:
        request = json.loads(line)
        results, latencies = [], []
        try:
            for item in request["texts"]:
                start = time.perf_counter()
                result = classifier.classify(item)
                latencies.append((time.perf_counter() - start) * 1000.0)
                scores = [0.0] * len(labels)
                for category in result.classifications[0].categories:
                    scores[category.index] = category.score
                results.append(scores)
        except Exception as error:  # MediaPipe raises RuntimeError/ValueError from its C++ graph
            try:
                classifier.classify(WARM_UP)
                usable = True
            except Exception:
                usable = False
            send({"ok": False, "error": f"{type(error).__name__}: {error}", "failed_index": len(results),
                  "usable": usable})
            if not usable:
                return 2
            continue
        send({"ok": True, "results": results, "latencies_ms": latencies})
    classifier.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip MediaPipe's finalizers, which fail at interpreter shutdown
