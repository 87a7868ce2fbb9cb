// Runs every conformance vector inside this page: the vector files from
// /testdata/vectors/ (index.json lists them), the package's own engine
// (js/src/engine.js: compile once, one instance at a time) and the
// environment-neutral runner the Node and workerd suites use
// (js/test/vectors-core.js). The result is written into the page and onto
// window.vectorResult for the browser test.

import { compile, Core } from "../js/src/engine.js";
import { runAll, countsLine, checkVector } from "../js/test/vectors-core.js";

const $ = (id) => document.getElementById(id);

async function load() {
  const index = await (await fetch("../testdata/vectors/index.json")).json();
  const vectors = await Promise.all(index.vectors.map(async (name) => {
    const res = await fetch(`../testdata/vectors/${name}`);
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
    return checkVector(await res.json(), name);
  }));
  // The order the Go loader and the Node runner use.
  vectors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return vectors;
}

async function main() {
  const t0 = performance.now();
  const vectors = await load();
  const module = await compile(new URL("../js/tokensmith.wasm", import.meta.url));
  let core = null;
  const engineFor = async () => {
    if (!core || core.dead) core = await Core.instantiate(module);
    return core;
  };
  const { counts, passed, failed } = await runAll(vectors, engineFor);
  const ms = Math.round(performance.now() - t0);
  const result = {
    counts,
    passed,
    failed: failed.map((r) => ({ name: r.name, failures: r.failures.slice(0, 5) })),
    line: `conformance vectors (chromium): ${countsLine(passed)}`,
    ms,
    userAgent: navigator.userAgent,
  };
  const body = $("counts").tBodies[0];
  for (const p of Object.keys(counts)) {
    const tr = document.createElement("tr");
    for (const v of [p, counts[p], passed[p]]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
  }
  $("counts").hidden = false;
  for (const f of result.failed) {
    const li = document.createElement("li");
    li.textContent = `${f.name}: ${f.failures.join("; ")}`;
    $("failures").append(li);
  }
  $("summary").textContent = failed.length === 0
    ? `All ${vectors.length} vectors passed in ${ms} ms.`
    : `${failed.length} of ${vectors.length} vectors failed.`;
  window.vectorResult = result;
  document.body.dataset.done = failed.length === 0 ? "pass" : "fail";
}

main().catch((e) => {
  $("summary").textContent = `The vectors could not run: ${e && e.name}: ${String(e && e.message).slice(0, 200)}`;
  window.vectorResult = { error: String(e && e.message) };
  document.body.dataset.done = "error";
});
