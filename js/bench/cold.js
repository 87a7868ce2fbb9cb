// One Node cold start, run in a fresh process by run.js: import the package,
// compile the module, instantiate it and get a first token from a local
// fetch (a canned DQE answer: no network in the figure). Prints JSON timings
// in ms.
const t0 = performance.now();
const { createClient } = await import("../node.js");
const { readFile } = await import("node:fs/promises");
const t1 = performance.now();
const answer = JSON.stringify({ access_token: "TK" + "a".repeat(40), token_type: "Bearer", expires_in: "300", refresh_token: "*TK" + "b".repeat(40) });
const fetch = async () => new Response(answer, { status: 200, headers: { "content-type": "application/json" } });
await fetch(); // Node loads its fetch/Response implementation on first use: not ours to count
const t2 = performance.now();
const module = await WebAssembly.compile(await readFile(new URL("../tokensmith.wasm", import.meta.url)));
const t3 = performance.now();
const c = createClient({ provider: "dqe-idmobile", base_url: "https://dqe.example", licence: "LIC-4711", client_secret: "s3cret-pass" }, { fetch, module });
await c.token();
const t4 = performance.now();
console.log(JSON.stringify({ boot: t0, import: t1 - t0, undici: t2 - t1, compile: t3 - t2, firstToken: t4 - t3, total: t4 }));
