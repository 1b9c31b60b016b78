// tfkit's web page: MediaPipe Tasks' TextClassifier on the page's own model file, in the browser.
//
// Interactive: the scores of what is typed, one bar per label (names from the model's metadata).
// Query parameters:
//   ?text=<sentence>                 starts with that sentence in the text box
//   ?sentences=<url>&report=<url>    automation: classifies the JSON list of strings at <url>, then sets
//                                    window.tfkitResults and document.title ("tfkit-web: done" or
//                                    "tfkit-web: error") and, with report=, POSTs the same JSON there
//                                    (same origin: the page's Content-Security-Policy allows no other).
import { FilesetResolver, TextClassifier } from "./mediapipe/text_bundle.js";

const config = JSON.parse(document.getElementById("tfkit-config").textContent);
const params = new URLSearchParams(location.search);
const textBox = document.getElementById("text");
const statusLine = document.getElementById("status");
const scoreList = document.getElementById("scores");

function setStatus(message, isError = false) {
  statusLine.textContent = message;
  statusLine.className = isError ? "error" : "";
}

async function createClassifier() {
  const start = performance.now();
  const fileset = await FilesetResolver.forTextTasks(new URL("mediapipe/wasm", location.href).href);
  const classifier = await TextClassifier.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: new URL(config.model, location.href).href },
    maxResults: -1,
  });
  classifier.classify("");  // the first call prepares the graph (about 0.2 s): part of loading, not of a text
  return { classifier, loadMs: performance.now() - start, wasm: fileset.wasmBinaryPath.split("/").pop() };
}

// One text's result: the top label as MediaPipe ranks it, every label's score, the time it took.
function classify(classifier, text) {
  const start = performance.now();
  const head = classifier.classify(text).classifications[0];
  const ms = performance.now() - start;
  const categories = [...head.categories].sort((a, b) => a.index - b.index);
  const scores = Object.fromEntries(categories.map((c) => [c.categoryName || String(c.index), c.score]));
  const top = head.categories[0];
  return { text, label: top.categoryName || String(top.index), scores, ms };
}

function render(result) {
  const rows = Object.entries(result.scores).map(([name, score]) => {
    const row = document.createElement("li");
    row.className = name === result.label ? "top" : "";
    const label = Object.assign(document.createElement("span"), { className: "name", textContent: name });
    const track = Object.assign(document.createElement("span"), { className: "track" });
    const fill = Object.assign(document.createElement("span"), { className: "fill" });
    fill.style.width = `${(100 * Math.max(0, Math.min(1, score))).toFixed(1)}%`;
    track.append(fill);
    const value = Object.assign(document.createElement("span"), { className: "value", textContent: score.toFixed(3) });
    row.append(label, track, value);
    return row;
  });
  scoreList.replaceChildren(...rows);
}

async function finish(payload) {
  window.tfkitResults = payload;
  const report = params.get("report");
  if (report) {
    await fetch(new URL(report, location.href), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
  }
  document.title = payload.error === undefined ? "tfkit-web: done" : "tfkit-web: error";
}

async function automate(classifier, loadMs, wasm) {
  const response = await fetch(new URL(params.get("sentences"), location.href));
  if (!response.ok) throw new Error(`sentences: HTTP ${response.status} for ${params.get("sentences")}`);
  const sentences = await response.json();
  const start = performance.now();
  const results = sentences.map((text) => classify(classifier, String(text)));
  const totalMs = performance.now() - start;
  setStatus(`Classified ${results.length} sentences in ${totalMs.toFixed(0)} ms.`);
  render(results[results.length - 1] ?? classify(classifier, textBox.value));
  await finish({ results, loadMs, totalMs, wasm, mediapipe: config.mediapipe_version, userAgent: navigator.userAgent });
}

async function main() {
  if (params.has("text")) textBox.value = params.get("text");
  const { classifier, loadMs, wasm } = await createClassifier();
  if (params.has("sentences")) {
    await automate(classifier, loadMs, wasm);
    return;
  }
  let pending = false;
  let updates = 0;
  const update = () => {
    pending = false;
    const result = classify(classifier, textBox.value);
    render(result);
    setStatus(`Top label: ${result.label} \u00b7 ${result.ms.toFixed(1)} ms`);
    document.documentElement.dataset.updates = String(++updates);  // for screenshots: scores shown
  };
  textBox.addEventListener("input", () => {
    if (!pending) { pending = true; requestAnimationFrame(update); }
  });
  update();
}

main().catch(async (error) => {
  const message = error && error.message ? error.message : String(error);
  setStatus(`Could not classify: ${message}`, true);
  try { await finish({ error: message }); } catch (_) { document.title = "tfkit-web: error"; }
});
