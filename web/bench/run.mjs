// The browser benchmark (issue 10 item 5), a script, never a test: the
// module's size as served (gzip, brotli), the time to the first token on a
// cold page (a fresh browser profile: nothing cached), on a page whose module
// is in the HTTP cache (the same profile, navigated again), and the cost of
// token() and cachedToken() on a cached fresh token. Medians of several runs
// in Debian's chromium against the emulator on loopback.
//
//   node web/bench/run.mjs [--runs 7] [--provider bydesign]

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { cpus } from "node:os";
import { execFileSync } from "node:child_process";
import { launch, startDevserver, ROOT, chromiumPath } from "../test/harness.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const RUNS = Number(opt("--runs", 7));
const PROVIDER = opt("--provider", "bydesign");

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;

function sizes(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length } }).length,
  };
}

const jsDir = join(ROOT, "js");
const wasm = sizes(readFileSync(join(jsDir, "tokensmith.wasm")));
const jsFiles = ["index.js", ...readdirSync(join(jsDir, "src")).filter((f) => f.endsWith(".js")).map((f) => `src/${f}`)];
const js = sizes(Buffer.concat(jsFiles.map((f) => readFileSync(join(jsDir, f)))));

const server = await startDevserver();
const url = `${server.url}/web/bench/bench.html?provider=${PROVIDER}`;

async function visit(page, u) {
  await page.goto(u);
  await page.waitForFunction(() => window.bench, null, { timeout: 120000 });
  const b = await page.evaluate(() => window.bench);
  if (b.error) throw new Error(b.error);
  return b;
}

const cold = [];
const cached = [];
const coldParts = { imported: [], wasmEnd: [] };
const cachedParts = { imported: [], wasmEnd: [], transfer: [] };
let served = null;
for (let i = 0; i < RUNS; i++) {
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    const first = await visit(page, url);
    cold.push(first.firstToken);
    coldParts.imported.push(first.imported);
    coldParts.wasmEnd.push(first.wasm.end);
    served = first.wasm;
    // The same profile: the module comes from the HTTP cache (a 304
    // revalidation: the server says no-cache), V8 may reuse its code.
    const again = await visit(page, url);
    cached.push(again.firstToken);
    cachedParts.imported.push(again.imported);
    cachedParts.wasmEnd.push(again.wasm.end);
    cachedParts.transfer.push(again.wasm.transfer);
    await page.close();
  } finally {
    await browser.close();
  }
}

const browser = await launch();
const page = await browser.context.newPage();
const loop = await visit(page, `${url}&loop=1`);
await browser.close();
await server.stop();

let version = "";
try {
  version = execFileSync(chromiumPath(), ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
} catch {
  version = "chromium";
}
const lines = [
  `browser benchmark: ${version}, ${cpus().length} × ${cpus()[0].model.trim()}, ${RUNS} runs, provider ${PROVIDER} on the emulator (loopback, cross-origin)`,
  "",
  "| | bytes |",
  "|---|---|",
  `| tokensmith.wasm raw | ${wasm.raw} (${kb(wasm.raw)}) |`,
  `| tokensmith.wasm gzip -9 | ${wasm.gzip} (${kb(wasm.gzip)}) |`,
  `| tokensmith.wasm brotli -q 11 | ${wasm.brotli} (${kb(wasm.brotli)}) |`,
  `| tokensmith.wasm as the dev server sent it (gzip -6) | ${served ? served.encoded : "?"} |`,
  `| the package's JS (${jsFiles.length} files) raw / gzip / brotli | ${js.raw} / ${js.gzip} / ${js.brotli} |`,
  "",
  "| | median | runs |",
  "|---|---|---|",
  `| first token, cold page (navigation start → token) | ${median(cold).toFixed(0)} ms | ${cold.map((x) => x.toFixed(0)).join(", ")} |`,
  `| first token, module in the HTTP cache | ${median(cached).toFixed(0)} ms | ${cached.map((x) => x.toFixed(0)).join(", ")} |`,
  `| of which: package imported (cold / cached) | ${median(coldParts.imported).toFixed(0)} / ${median(cachedParts.imported).toFixed(0)} ms | |`,
  `| of which: module downloaded (cold / cached; cached transfer ${median(cachedParts.transfer)} bytes) | ${median(coldParts.wasmEnd).toFixed(0)} / ${median(cachedParts.wasmEnd).toFixed(0)} ms | |`,
  `| token() on a cached fresh token | ${median(loop.tokenNs).toFixed(0)} ns | ${loop.tokenNs.map((x) => x.toFixed(0)).join(", ")} |`,
  `| cachedToken() (synchronous) | ${median(loop.cachedTokenNs).toFixed(0)} ns | ${loop.cachedTokenNs.map((x) => x.toFixed(0)).join(", ")} |`,
];
console.log(lines.join("\n"));
