"""A static web page that runs a MediaPipe Tasks text-classifier file in the browser (MediaPipe Tasks for Web).

Folder layout (written to a temporary folder and renamed into place)::

    <folder>/index.html, app.js, style.css     the page: a text box, one score bar per label
    <folder>/model.tflite                      the model (or a reference to a sibling: copy_model=False)
    <folder>/mediapipe/text_bundle.js          @mediapipe/tasks-text's ES module (from text_bundle.mjs)
    <folder>/mediapipe/wasm/                   its WebAssembly (SIMD and no-SIMD builds) and their loaders
    <folder>/mediapipe/package.json            the npm package's manifest (version, licence)
    <folder>/web_page.json                     what was written: model file and SHA-256, package version

Nothing is fetched from elsewhere when the page runs (its Content-Security-Policy allows connections to its
own server only, which also refuses MediaPipe's usage logging to Google). Browsers run neither ES modules
nor WebAssembly from ``file://``: serve the folder, ``python -m http.server -d <folder> 8000``, and open
``http://localhost:8000/``. Opened as a file, the page says so.

``@mediapipe/tasks-text`` comes from npm: ``package_dir=``, else ``$TFKIT_MEDIAPIPE_WEB`` (a
``node_modules/@mediapipe/tasks-text`` folder), else tfkit's cache (``~/.cache/tfkit/npm/``), installed there
with ``npm install`` on first use (:func:`mediapipe_web_package`).

Examples:
    >>> write_web_page("saved_models/reviews/export/web", "saved_models/reviews/export/model_mediapipe.tflite",
    ...                title="Review sentiment")                                       # doctest: +SKIP
    PosixPath('saved_models/reviews/export/web')
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Callable

from tfkit._io import atomic_directory, atomic_write_json
from tfkit.errors import ConfigError, ExternalToolError

MEDIAPIPE_WEB_PACKAGE = "@mediapipe/tasks-text"
MEDIAPIPE_WEB_VERSION = "1.0.1"
# what the page loads: FilesetResolver.forTextTasks picks text_wasm_internal, or the no-SIMD build on browsers
# without WebAssembly SIMD; the ES6-module build (useModule=true) is not used.
BUNDLE_FILES = {
    "text_bundle.mjs": "text_bundle.js",  # .js: every static server gives it a JavaScript MIME type
    "package.json": "package.json",
    "wasm/text_wasm_internal.js": "wasm/text_wasm_internal.js",
    "wasm/text_wasm_internal.wasm": "wasm/text_wasm_internal.wasm",
    "wasm/text_wasm_nosimd_internal.js": "wasm/text_wasm_nosimd_internal.js",
    "wasm/text_wasm_nosimd_internal.wasm": "wasm/text_wasm_nosimd_internal.wasm",
}
PAGE_FILES = ("index.html", "app.js", "style.css")
DEFAULT_CACHE = Path("~/.cache/tfkit/npm")
DEFAULT_EXAMPLE = "A warm, funny and beautifully acted film."


def write_web_page(
    folder: str | os.PathLike,
    model_file: str | os.PathLike,
    title: str = "tfkit text classifier",
    example: str = DEFAULT_EXAMPLE,
    copy_model: bool = True,
    package_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Writes the page that classifies typed text with ``model_file`` to ``folder``; returns ``folder``.

    Args:
        folder: the page's folder (must not exist unless ``overwrite``).
        model_file: a MediaPipe Tasks text-classifier file (TFLite with MediaPipe's text-classifier
            metadata: tokenizer and labels packed in; the label names shown come from it).
        title: the page's title and heading.
        example: the sentence the text box starts with.
        copy_model: copy the model in as ``model.tflite``; ``False`` references it by its path relative to
            ``folder`` (then serve the folder that holds both, e.g. the export folder, and open
            ``http://localhost:8000/<folder's name>/``; ``web_page.json`` says which).
        package_dir: a ``node_modules/@mediapipe/tasks-text`` folder (default: :func:`mediapipe_web_package`).

    Raises:
        ConfigError: ``model_file`` is not a TFLite file with MediaPipe metadata, or the package folder is
            incomplete.
        ExternalToolError: the npm package has to be installed and npm is missing or fails.
        OutputExistsError: ``folder`` exists and ``overwrite`` is false.
    """
    folder, model_file = Path(folder), Path(model_file)
    model = _read_model(model_file)
    package = mediapipe_web_package(package_dir, log=log)
    version = json.loads((package / "package.json").read_text(encoding="utf-8")).get("version", "unknown")
    root = folder.resolve() if copy_model else \
        Path(os.path.commonpath([folder.resolve(), model_file.resolve().parent]))  # what a server must serve
    model_url = "model.tflite" if copy_model else \
        Path(os.path.relpath(model_file.resolve(), folder.resolve())).as_posix()
    page_path = folder.resolve().relative_to(root).as_posix()
    serve_root = Path(os.path.relpath(root, folder.resolve())).as_posix()  # "." or "..", relative: the folder moves
    config = {"title": title, "model": model_url, "mediapipe_version": version, "serve_root": serve_root,
              "page_path": "" if page_path == "." else page_path + "/"}
    with atomic_directory(folder, overwrite=overwrite) as tmp:
        for name in PAGE_FILES:
            (tmp / name).write_text(_page_file(name, config, example, model_file.name, len(model)), encoding="utf-8")
        for source, target in BUNDLE_FILES.items():
            (tmp / "mediapipe" / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(package / source, tmp / "mediapipe" / target)
        if copy_model:
            (tmp / "model.tflite").write_bytes(model)
        atomic_write_json(tmp / "web_page.json", {
            "title": title, "model": model_url, "source_model": model_file.name,
            "model_sha256": hashlib.sha256(model).hexdigest(), "model_bytes": len(model),
            "mediapipe_web": {"package": MEDIAPIPE_WEB_PACKAGE, "version": version},
            "serve_root": serve_root, "open": f"http://localhost:8000/{config['page_path']}",
        })
    served = folder if copy_model else Path(os.path.normpath(folder / serve_root))
    log(f"Web page written to {folder}: serve it with `python -m http.server -d {served} 8000` and open "
        f"http://localhost:8000/{config['page_path']}")
    return folder


def _read_model(path: Path) -> bytes:
    if not path.is_file():
        raise ConfigError(f"Expected a MediaPipe text-classifier file. Received: model_file='{path}', which does "
                          "not exist.")
    data = path.read_bytes()
    if data[4:8] != b"TFL3":
        raise ConfigError(f"Expected a TFLite flatbuffer (identifier TFL3). Received: model_file='{path}'. Pass "
                          "the MediaPipe text-classifier file of an export.")
    if b"TFLITE_METADATA" not in data:
        raise ConfigError(
            f"Expected a TFLite file with MediaPipe's text-classifier metadata (its tokenizer and labels). "
            f"Received: model_file='{path}', which has none. Add it with "
            "tfkit.export.mediapipe_metadata.with_text_classifier_metadata, or pass the export's MediaPipe file.")
    return data


def _page_file(name: str, config: dict, example: str, model_name: str, model_bytes: int) -> str:
    text = resources.files("tfkit.export").joinpath("web", name).read_text(encoding="utf-8")
    if name != "index.html":
        return text
    footer = (f"{html.escape(model_name)} &middot; {model_bytes / 1e6:.1f} MB &middot; "
              f"{MEDIAPIPE_WEB_PACKAGE} {html.escape(config['mediapipe_version'])} &middot; "
              "runs in this browser: the text does not leave it")
    values = {"title": html.escape(config["title"]), "example": html.escape(example), "footer": footer,
              "config": json.dumps(config).replace("</", "<\\/")}  # inside <script>: "</" would end it early
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], text)  # one pass: values stay as given


def mediapipe_web_package(package_dir: str | os.PathLike | None = None,
                          cache_dir: str | os.PathLike | None = None, version: str = MEDIAPIPE_WEB_VERSION,
                          log: Callable[[str], None] = print) -> Path:
    """The ``node_modules/@mediapipe/tasks-text`` folder the page's bundle is copied from.

    ``package_dir``, else ``$TFKIT_MEDIAPIPE_WEB``, else ``<cache_dir>/tasks-text-<version>`` (default cache
    ``~/.cache/tfkit/npm``), where ``npm install`` puts it on first use.

    Raises:
        ConfigError: the given folder is not a complete ``@mediapipe/tasks-text`` package.
        ExternalToolError: npm is missing or the install fails.

    Examples:
        >>> mediapipe_web_package()                                              # doctest: +SKIP
        PosixPath('/home/me/.cache/tfkit/npm/tasks-text-1.0.1/node_modules/@mediapipe/tasks-text')
    """
    given = package_dir or os.environ.get("TFKIT_MEDIAPIPE_WEB")
    if given:
        return _checked_package(Path(given).expanduser(), "package_dir" if package_dir else "TFKIT_MEDIAPIPE_WEB")
    prefix = Path(cache_dir or DEFAULT_CACHE).expanduser() / f"tasks-text-{version}"
    package = prefix / "node_modules" / MEDIAPIPE_WEB_PACKAGE
    if not (package / "package.json").is_file():
        _npm_install(prefix, version, log)
    return _checked_package(package, "the npm cache")


def _checked_package(package: Path, origin: str) -> Path:
    missing = [name for name in BUNDLE_FILES if not (package / name).is_file()]
    if missing:
        raise ConfigError(
            f"Expected a {MEDIAPIPE_WEB_PACKAGE} package folder (node_modules/{MEDIAPIPE_WEB_PACKAGE}). Received: "
            f"'{package}' from {origin}, without {', '.join(missing)}. Point it at the folder `npm install "
            f"{MEDIAPIPE_WEB_PACKAGE}@{MEDIAPIPE_WEB_VERSION}` wrote, or leave it unset to let tfkit install it.")
    return package


def _npm_install(prefix: Path, version: str, log: Callable[[str], None]) -> None:
    npm = shutil.which("npm")
    spec = f"{MEDIAPIPE_WEB_PACKAGE}@{version}"
    if npm is None:
        raise ExternalToolError(
            f"Expected npm on PATH to install {spec} (MediaPipe Tasks for Web, copied into the page). Received: "
            "no npm. Install Node.js (apt-get install -y npm), or run `npm install <dir>` yourself and set "
            f"TFKIT_MEDIAPIPE_WEB=<dir>/node_modules/{MEDIAPIPE_WEB_PACKAGE}.")
    log(f"Installing {spec} into {prefix} (npm)")
    with atomic_directory(prefix, overwrite=True) as tmp:
        done = subprocess.run([npm, "install", "--prefix", str(tmp), "--no-audit", "--no-fund", "--save-exact",
                               "--loglevel=error", spec], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise ExternalToolError(
                f"Expected `npm install {spec}` to succeed. Received: exit {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()[-1500:]}. Check the registry can be reached (npm config "
                f"get registry), or install it yourself and set TFKIT_MEDIAPIPE_WEB.")


__all__ = ["MEDIAPIPE_WEB_VERSION", "mediapipe_web_package", "write_web_page"]
