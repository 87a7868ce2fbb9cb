// The vector runner inside workerd: the same vectors-core.js behind a thin
// shim. The module arrives as a module import (workerd refuses to compile
// bytes) and is instantiated inside the request (random values are refused
// at global scope).
import wasm from "../tokensmith.wasm";
import vectors from "./vectors.json";
import { Core } from "../src/engine.js";
import { runAll } from "./vectors-core.js";

export default {
  async fetch(request) {
    if (new URL(request.url).pathname !== "/run") return new Response("ready");
    // A fresh instance per vector (session numbers are in the transcript).
    const { counts, passed, failed, transcripts } = await runAll(vectors, () => Core.instantiate(wasm));
    return Response.json({ counts, passed, transcripts, failed: failed.map((r) => ({ name: r.name, failures: r.failures })) });
  },
};
