// Every conformance vector inside the page (web/vectors.html) in Debian's
// chromium: the same runner and engine as Node and workerd, and the same
// counts per provider as the Go run (one vector per file in
// testdata/vectors/<provider>/) and the Node run (js/test/.counts, when the
// JS suite ran first, as `make test` orders it).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { launch, startDevserver, artifactDir, PROVIDERS, WEB_DIR } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startDevserver();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

function root() {
  return process.env.TOKENSMITH_WEB_ROOT || join(WEB_DIR, "..");
}

function newestVector() {
  let t = 0;
  for (const p of PROVIDERS) {
    const dir = join(root(), "testdata", "vectors", p);
    for (const f of readdirSync(dir)) t = Math.max(t, statSync(join(dir, f)).mtimeMs);
  }
  return t;
}

/** Files per provider, which is what the Go runner counts. */
function fileCounts() {
  const out = {};
  for (const p of PROVIDERS) {
    out[p] = readdirSync(join(root(), "testdata", "vectors", p)).filter((f) => f.endsWith(".json")).length;
  }
  return out;
}

test("every vector passes inside the page in chromium, with the Go and Node counts", async () => {
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${server.url}/web/vectors.html`);
  await page.waitForSelector("body[data-done]", { timeout: 300000 });
  const r = await page.evaluate(() => window.vectorResult);
  assert.deepEqual(problems, []);
  assert.ok(!r.error, r.error);
  for (const f of r.failed) console.log(`FAIL ${f.name}\n  ${f.failures.join("\n  ")}`);
  assert.equal(r.failed.length, 0, `${r.failed.length} vectors failed in chromium`);
  const files = fileCounts();
  assert.deepEqual(r.counts, files, "the page ran every vector file");
  assert.deepEqual(r.passed, files);
  // Node's counts, when its run is newer than every vector file (a line left
  // by a run on other vectors says nothing).
  const nodeCounts = join(root(), "js", "test", ".counts-node");
  if (existsSync(nodeCounts) && statSync(nodeCounts).mtimeMs >= newestVector()) {
    const line = readFileSync(nodeCounts, "utf8");
    for (const p of PROVIDERS) assert.match(line, new RegExp(`${p} ${r.passed[p]}\\b`), `Node counted ${p} differently: ${line}`);
  } else {
    console.log("no Node counts newer than the vectors to compare with (make test-js writes them)");
  }
  assert.match(r.userAgent, /Chrome\//);
  console.log(`${r.line} in ${r.ms} ms`);
  writeFileSync(join(WEB_DIR, "test", ".counts"), r.line + "\n");
  await page.screenshot({ path: join(artifactDir(), "vectors-1280.png"), fullPage: true });
  await page.close();
});
