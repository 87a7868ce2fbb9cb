// Benchmarks of the JS package (make bench-js): medians, never asserted.
// Node: cold start in fresh processes, cached token() and the synchronous
// accessor, a WASM crossing on a fresh token, one full renewal cycle through
// the core (lease → request → commit → token) against a local fetch.
// workerd: process start, first request (cold isolate, token from the
// emulator), steady state.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "../node.js";
import { compile, Core } from "../src/engine.js";
import { startEmulator } from "../test/helpers.js";
import { startWorkerd, packageModules, workerdBin } from "../test/workerd.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const JS = join(HERE, "..");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, unit) => `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)} ${unit}`;
const rows = [];
const row = (what, value) => {
  rows.push([what, value]);
  console.log(`${what.padEnd(62)} ${value}`);
};

const machine = `${cpus().length} cores, ${cpus()[0].model.trim()}`;
const workerdVersion = execFileSync(workerdBin(), ["--version"], { encoding: "utf8" }).trim();
console.log(`machine: ${machine}; Node ${process.version}; ${workerdVersion}; ${new Date().toISOString().slice(0, 10)}; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);

// --- Node cold start: 11 fresh processes.
const colds = [];
for (let i = 0; i < 11; i++) {
  colds.push(JSON.parse(execFileSync(process.execPath, [join(HERE, "cold.js")], { encoding: "utf8" })));
}
row("Node cold: process boot until the script runs", fmt(median(colds.map((c) => c.boot)), "ms"));
row("Node cold: import tokensmith", fmt(median(colds.map((c) => c.import)), "ms"));
row("Node cold: Node's own fetch/Response, first use", fmt(median(colds.map((c) => c.undici)), "ms"));
row("Node cold: read + WebAssembly.compile tokensmith.wasm", fmt(median(colds.map((c) => c.compile)), "ms"));
row("Node cold: instantiate + _initialize + first token (local fetch)", fmt(median(colds.map((c) => c.firstToken)), "ms"));
row("Node cold: process start → first token", fmt(median(colds.map((c) => c.total)), "ms"));

// --- Hot path.
// Every answer a new token: the core never takes back a token it was told was refused.
let issued = 0;
const tokenAnswer = () => JSON.stringify({ access_token: `TK${++issued}`.padEnd(42, "a"), token_type: "Bearer", expires_in: "300", refresh_token: "*TK" + "b".repeat(40) });
const answer = tokenAnswer();
const localFetch = async () => new Response(tokenAnswer(), { status: 200, headers: { "content-type": "application/json" } });
const dqe = { provider: "dqe-idmobile", base_url: "https://dqe.example", licence: "LIC-4711", client_secret: "s3cret-pass" };
const c = createClient(dqe, { fetch: localFetch });
await c.token();

async function perOp(fn, n, rounds = 7) {
  for (let i = 0; i < 30000; i++) await fn(); // V8 warm-up
  const r = [];
  for (let k = 0; k < rounds; k++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) await fn();
    r.push(((performance.now() - t) * 1e6) / n);
  }
  return median(r);
}
function perOpSync(fn, n, rounds = 7) {
  for (let i = 0; i < 30000; i++) fn();
  const r = [];
  for (let k = 0; k < rounds; k++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    r.push(((performance.now() - t) * 1e6) / n);
  }
  return median(r);
}
row("cached token() (await, fresh token, no WASM)", fmt(await perOp(() => c.token(), 200000), "ns"));
row("cachedToken() (synchronous accessor)", fmt(perOpSync(() => c.cachedToken(), 1000000), "ns"));
row("floor: Date.now()", fmt(perOpSync(() => Date.now(), 1000000), "ns"));

// --- Through WASM.
const core = await Core.instantiate(await compile(readFileSync(join(JS, "tokensmith.wasm"))));
const h = JSON.parse(core.sessionNew(JSON.stringify(dqe), "{}")).session;
const now = Date.now();
core.next(h, now);
core.feed(h, now, JSON.stringify({ lease: { acquired: true, token: null } }));
const step = JSON.parse(core.feed(h, now, JSON.stringify({ response: { status: 200, headers: { "content-type": "application/json" }, body: answer } })));
core.feed(h, now, JSON.stringify({ commit: { ok: true } }));
void step;
row("session_next on a fresh token (one crossing, JSON decoded)", fmt(perOpSync(() => JSON.parse(core.next(h, now)), 20000) / 1000, "µs"));
const before = issued;
const renewals = await perOp(async () => {
  c.invalidate();
  await c.token();
}, 3000, 5);
if (issued - before !== 30000 + 5 * 3000) throw new Error(`expected one vendor request per renewal, got ${issued - before}`);
row("one renewal through the core: lease → request → commit → token", fmt(renewals / 1000, "µs"));

// --- workerd: the edge broker against the emulator.
const emu = await startEmulator();
const spec = {
  modules: [{ name: "examples/edge-broker/worker.js", from: join(JS, "examples", "edge-broker", "worker.js"), type: "esModule" }, ...packageModules()],
  bindings: [
    { name: "TOKENSMITH_CRMCOM", text: JSON.stringify(emu.configs.crmcom) },
    { name: "BROKER", json: JSON.stringify({ origins: ["https://app.example"], vendors: { crmcom: { secret: "TOKENSMITH_CRMCOM", api: emu.configs.crmcom.base_url, allow: [{ methods: ["GET"], path: "/contacts/contact_information/show" }] } } }) },
  ],
};
const starts = [], firsts = [], steadies = [], proxied = [];
const hdr = { origin: "https://app.example" };
for (let k = 0; k < 5; k++) {
  await emu.reset();
  const w = await startWorkerd(spec);
  starts.push(w.startMs);
  let t = performance.now();
  const r = await fetch(w.url + "/v/crmcom/token", { headers: hdr });
  await r.text();
  firsts.push(performance.now() - t);
  const lat = [];
  for (let j = 0; j < 300; j++) {
    t = performance.now();
    const x = await fetch(w.url + "/v/crmcom/token", { headers: hdr });
    await x.text();
    lat.push(performance.now() - t);
  }
  steadies.push(median(lat.slice(100)));
  const pl = [];
  for (let j = 0; j < 200; j++) {
    t = performance.now();
    const x = await fetch(w.url + "/v/crmcom/api/contacts/contact_information/show", { headers: hdr });
    await x.text();
    pl.push(performance.now() - t);
  }
  proxied.push(median(pl.slice(50)));
  await w.stop();
}
await emu.stop();
row("workerd: process start until it answers", fmt(median(starts), "ms"));
row("workerd: first request (cold isolate, token from the emulator)", fmt(median(firsts), "ms"));
row("workerd: steady state, a cached token, per request", fmt(median(steadies), "ms"));
row("workerd: steady state, a proxied API call, per request", fmt(median(proxied), "ms"));
await c.close();
