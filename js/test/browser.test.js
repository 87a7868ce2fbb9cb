// The package in headless Chromium (Debian's, driven with --dump-dom: no
// browser automation library needed): every vector through the same
// vectors-core.js, a token with no module source given (the .wasm found by
// URL beside index.js), and the two failures only a browser has: a CORS
// refusal (code cors, not retryable) told apart from a dead address (network).
// The web stream's page runs its own, larger browser suite.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { JS_DIR, loadVectors, startEmulator } from "./helpers.js";

function chromium() {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (existsSync(p)) return p;
  if (process.getuid && process.getuid() === 0) {
    execFileSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"], { stdio: "inherit" });
    if (existsSync("/usr/bin/chromium")) return "/usr/bin/chromium";
  }
  throw new Error("chromium is not installed and cannot be installed here (not root): apt-get install chromium");
}

const PAGE = `<!doctype html><pre id="out">pending</pre>
<script type="module">
import { createClient } from "/pkg/index.js";
import { Core, compile } from "/pkg/src/engine.js";
import { runAll } from "/pkg/test/vectors-core.js";
const out = document.getElementById("out");
try {
  const vectors = await (await fetch("/vectors.json")).json();
  const module = await compile(new URL("/pkg/tokensmith.wasm", location.href));
  const r = await runAll(vectors, () => Core.instantiate(module));
  const { same, cross } = await (await fetch("/configs.json")).json();
  const c = createClient(same);
  const t = await c.token();
  const quick = { session: { max_attempts: 1 } };
  const dead = await createClient({ ...same, base_url: "http://127.0.0.1:9/dqe" }, quick).token().catch((e) => e);
  const cors = await createClient(cross, quick).token().catch((e) => e);
  out.textContent = "RESULT " + JSON.stringify({ counts: r.counts, passed: r.passed,
    failed: r.failed.map((f) => f.name + ": " + f.failures[0]), token: t.access_token.length > 8,
    dead: [dead.code, dead.retryable], cors: [cors.code, cors.retryable] });
} catch (e) {
  out.textContent = "RESULT " + JSON.stringify({ thrown: e.name + ": " + e.message });
}
</script>`;

let emu, server, origin, profile;
before(async () => {
  emu = await startEmulator();
  const vectors = JSON.stringify(loadVectors());
  server = createServer(async (req, res) => {
    const u = new URL(req.url, "http://x");
    if (u.pathname === "/") return res.end(PAGE);
    if (u.pathname === "/vectors.json") return res.end(vectors);
    if (u.pathname === "/configs.json") {
      // same: the DQE endpoint through this origin (a same-origin proxy, below);
      // cross: the emulator itself, another origin; it answers CORS only to
      // http://127.0.0.1 and http://localhost pages, and this one is on 127.0.0.2.
      const cfg = emu.configs["dqe-idmobile"];
      return res.end(JSON.stringify({ same: { ...cfg, base_url: origin + "/dqe" }, cross: cfg }));
    }
    if (u.pathname.startsWith("/pkg/")) {
      const p = normalize(join(JS_DIR, u.pathname.slice(5)));
      if (!p.startsWith(JS_DIR) || !existsSync(p)) return res.writeHead(404).end();
      res.setHeader("content-type", p.endsWith(".wasm") ? "application/wasm" : "text/javascript");
      return res.end(readFileSync(p));
    }
    const body = await new Promise((ok) => { let b = ""; req.on("data", (d) => { b += d; }); req.on("end", () => ok(b)); });
    const r = await fetch(emu.url + u.pathname + u.search, { method: req.method,
      headers: { "content-type": req.headers["content-type"] || "text/plain" }, body: req.method === "GET" ? undefined : body });
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") || "text/plain" }).end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((r) => server.listen(0, "127.0.0.2", r));
  origin = `http://127.0.0.2:${server.address().port}`;
  profile = mkdtempSync(join(tmpdir(), "tokensmith-chromium-"));
});
after(async () => {
  server?.close();
  await emu?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// Chromium runs asynchronously: this process serves its page meanwhile.
function run(bin, args) {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const r = { stdout: "", stderr: "" };
    p.stdout.on("data", (d) => { r.stdout += d; });
    p.stderr.on("data", (d) => { r.stderr += d; });
    const t = setTimeout(() => p.kill("SIGKILL"), 180000);
    p.on("close", () => { clearTimeout(t); resolve(r); });
  });
}

test("in Chromium: every vector, a token by the default module URL, cors told from network", async () => {
  const r = await run(chromium(), ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${profile}`,
    "--virtual-time-budget=120000", "--dump-dom", origin + "/"]);
  const m = (r.stdout || "").match(/RESULT (\{.*?\})<\/pre>/s);
  assert.ok(m, `no result from Chromium: ${r.stderr?.slice(-2000)}`);
  const got = JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
  assert.equal(got.thrown, undefined, got.thrown);
  assert.deepEqual(got.failed, []);
  const want = {};
  for (const v of loadVectors()) want[v.provider] = (want[v.provider] ?? 0) + 1;
  assert.deepEqual(got.passed, want);
  assert.equal(got.token, true);
  assert.deepEqual(got.dead, ["network", true], "a dead address is a network error, retryable");
  assert.deepEqual(got.cors, ["cors", false], "a vendor without CORS headers: code cors, not retryable");
  const line = `conformance vectors (chromium): ${Object.entries(got.passed).map(([p, n]) => `${p} ${n}`).join(", ")}`;
  console.log(line);
  writeFileSync(join(JS_DIR, "test", ".counts-chromium"), line + "\n");
});
