// One browser benchmark run (web/bench/run.mjs drives it): the time from
// navigation start to the first token (import the package, fetch and compile
// the module, instantiate, the vendor's answer), then, with ?loop=1, the cost
// of token() and cachedToken() on the cached fresh token. Figures go on
// window.bench; nothing here is asserted.

const q = new URLSearchParams(location.search);
const provider = q.get("provider") || "bydesign";

async function main() {
  const env = await (await fetch("/demo/env.json")).json();
  const { createClient } = await import("../../js/index.js");
  const imported = performance.now();
  const client = createClient(env.configs[provider]);
  await client.token();
  const firstToken = performance.now();
  const wasm = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/tokensmith.wasm"));
  const out = {
    provider,
    imported,
    firstToken,
    wasm: wasm && { transfer: wasm.transferSize, encoded: wasm.encodedBodySize, decoded: wasm.decodedBodySize, start: wasm.startTime, end: wasm.responseEnd },
  };
  if (q.get("loop")) {
    // V8 needs tens of thousands of calls before a micro-benchmark means
    // anything (shared/wasm-notes.md).
    for (let i = 0; i < 50000; i++) await client.token();
    const runs = [];
    const sync = [];
    const n = 200000;
    for (let r = 0; r < 5; r++) {
      let t = performance.now();
      for (let i = 0; i < n; i++) await client.token();
      runs.push(((performance.now() - t) * 1e6) / n);
      t = performance.now();
      let x = 0;
      for (let i = 0; i < n; i++) if (client.cachedToken()) x++;
      sync.push(((performance.now() - t) * 1e6) / n);
      if (x !== n) throw new Error("the cached token was not fresh");
    }
    out.tokenNs = runs;
    out.cachedTokenNs = sync;
  }
  await client.close();
  window.bench = out;
  document.getElementById("out").textContent = JSON.stringify(out);
}

main().catch((e) => {
  window.bench = { error: `${e && e.name}: ${e && e.message}` };
});
