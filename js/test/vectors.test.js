// Every conformance vector through the JS engine in Node (the shim around
// vectors-core.js): the same counts per provider as the Go runs, and a
// vector that does not pass (or is skipped) fails the test.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { compile, Core } from "../src/engine.js";
import { runAll, countsLine } from "./vectors-core.js";
import { loadVectors, WASM, ROOT, JS_DIR, PROVIDERS } from "./helpers.js";

test("js/tokensmith.wasm is the core's module (make build copied it)", () => {
  const src = join(ROOT, "wasm", "tokensmith.wasm");
  assert.ok(existsSync(src), "wasm/tokensmith.wasm missing");
  assert.ok(readFileSync(WASM).equals(readFileSync(src)), "js/tokensmith.wasm differs from wasm/tokensmith.wasm: run make build");
});

test("every vector passes in Node", async () => {
  const vectors = loadVectors();
  const module = await compile(readFileSync(WASM));
  let core = null;
  const engineFor = async () => {
    if (!core || core.dead) core = await Core.instantiate(module);
    return core;
  };
  const { counts, passed, failed } = await runAll(vectors, engineFor);
  for (const r of failed) console.log(`FAIL ${r.name}\n  ${r.failures.join("\n  ")}`);
  for (const p of PROVIDERS) assert.ok(counts[p] > 0, `no vectors for ${p}`);
  assert.equal(failed.length, 0, `${failed.length} vectors failed`);
  assert.deepEqual(passed, counts);
  const line = `conformance vectors (node): ${countsLine(passed)}`;
  console.log(line);
  writeFileSync(join(JS_DIR, "test", ".counts-node"), line + "\n");
});

test("the counts per provider equal the Go run's (go test -run TestVectors ./core/)", async () => {
  const out = execFileSync("go", ["test", "-count=1", "-run", "^TestVectors$", "-v", "./core/"], { cwd: ROOT, encoding: "utf8" });
  const goCounts = {};
  for (const m of out.matchAll(/vectors (\S+)\s+(\d+)/g)) goCounts[m[1]] = Number(m[2]);
  const mine = {};
  for (const v of loadVectors()) mine[v.provider] = (mine[v.provider] ?? 0) + 1;
  assert.deepEqual(Object.keys(goCounts).sort(), [...PROVIDERS].sort(), out.slice(-2000));
  assert.deepEqual(mine, goCounts);
});
