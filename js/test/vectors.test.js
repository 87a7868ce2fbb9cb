// Every conformance vector through the JS engine in Node (the shim around
// vectors-core.js), following testdata/vectors/README.md: a fresh instance
// per vector, every vector passing, the same counts per provider as the Go
// run and the same transcript, byte for byte, as the native Go core's.

import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { compile, Core } from "../src/engine.js";
import { runAll, countsLine, compareTranscripts, SECRET_FIELDS } from "./vectors-core.js";
import { loadVectors, goReference, WASM, ROOT, JS_DIR } from "./helpers.js";

let ref;
before(() => {
  ref = goReference();
});

test("js/tokensmith.wasm is the core's module (make build copied it)", () => {
  const src = join(ROOT, "wasm", "tokensmith.wasm");
  assert.ok(existsSync(src), "wasm/tokensmith.wasm missing");
  assert.ok(readFileSync(WASM).equals(readFileSync(src)), "js/tokensmith.wasm differs from wasm/tokensmith.wasm: run make build");
});

test("the runner's secret fields are the core's (core.SecretFields)", () => {
  assert.deepEqual([...SECRET_FIELDS].sort(), [...ref.secret_fields].sort());
});

test("every vector passes in Node, with the Go run's counts and transcripts", async () => {
  const vectors = loadVectors();
  const module = await compile(readFileSync(WASM));
  const { counts, passed, failed, transcripts } = await runAll(vectors, () => Core.instantiate(module));
  for (const r of failed) console.log(`FAIL ${r.name}\n  ${r.failures.join("\n  ")}`);
  assert.deepEqual(ref.failed, [], "the Go reference run itself fails");
  for (const p of ref.providers) assert.ok(counts[p] >= 15, `too few vectors for ${p}`);
  assert.equal(failed.length, 0, `${failed.length} vectors failed`);
  assert.deepEqual(passed, ref.counts, "passed per provider = the Go run's counts");
  const diffs = compareTranscripts(transcripts, ref.transcripts);
  assert.deepEqual(diffs, [], `transcripts differ from the native Go core's:\n${diffs.join("\n")}`);
  const line = `conformance vectors (node, transcripts = native Go): ${countsLine(passed)}`;
  console.log(line);
  writeFileSync(join(JS_DIR, "test", ".counts-node"), line + "\n");
});
