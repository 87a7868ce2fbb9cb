// The client against a vendor played by an injected fetch (no network): the
// hot path, stale-while-renew, a trapped instance, close and abort, module
// sources, the store.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createClient, memoryStore, TokenError } from "../node.js";
import { internals } from "../src/client.js";
import { WASM } from "./helpers.js";

const config = { provider: "dqe-idmobile", base_url: "https://dqe.example", licence: "LIC-4711", client_secret: "s3cret-pass" };
const T0 = 1_700_000_000_000;

// A DQE token endpoint: every answer a new token living 300 s.
function vendor() {
  const v = { n: 0, gate: null };
  v.fetch = async (url, init) => {
    v.n++;
    if (v.gate) await v.gate.promise;
    init?.signal?.throwIfAborted();
    const tok = `TK${String(v.n).padStart(4, "0")}${"a".repeat(30)}`;
    return new Response(JSON.stringify({ access_token: tok, token_type: "Bearer", expires_in: "300", refresh_token: "*" + tok }), {
      status: 200, headers: { "content-type": "application/json" },
    });
  };
  v.hold = () => {
    let release;
    const promise = new Promise((r) => { release = r; });
    v.gate = { promise, release: () => { v.gate = null; release(); } };
    return v.gate;
  };
  return v;
}

function clock(ms = T0) {
  const c = { t: ms };
  c.now = () => c.t;
  return c;
}

test("the hot path: a fresh token never crosses into WebAssembly", async () => {
  const v = vendor();
  const clk = clock();
  const c = createClient(config, { fetch: v.fetch, now: clk.now });
  const t = await c.token();
  assert.ok(Object.isFrozen(t) && Object.isFrozen(t.attach), "a shared token cannot be changed by one caller");
  const core = c[internals].core();
  let calls = 0;
  for (const m of ["next", "feed", "token", "attach", "restore"]) {
    const orig = core[m];
    core[m] = (...a) => { calls++; return orig.apply(core, a); };
  }
  for (let i = 0; i < 1000; i++) {
    assert.equal(await c.token(), t);
    assert.equal(c.cachedToken(), t);
  }
  assert.equal(calls, 0);
  assert.equal(v.n, 1);
  clk.t = (t.refresh_at + 1) * 1000; // stale
  assert.equal(c.cachedToken(), undefined);
  const t2 = await c.token(); // stale but valid: served while the renewal runs
  assert.equal(t2.access_token, t.access_token);
  assert.ok(calls > 0);
  for (let i = 0; i < 1000 && c.cachedToken() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(v.n, 2);
  assert.notEqual(c.cachedToken().access_token, t.access_token);
  await c.close();
});

test("a clock that jumps back stops serving the cached token", async () => {
  const v = vendor();
  const clk = clock();
  const c = createClient(config, { fetch: v.fetch, now: clk.now });
  const t = await c.token();
  clk.t = (t.received_at - 61) * 1000;
  assert.equal(c.cachedToken(), undefined);
  await c.close();
});

test("stale-while-renew: a stale token is served while the renewal runs", async () => {
  const v = vendor();
  const clk = clock();
  const c = createClient(config, { fetch: v.fetch, now: clk.now });
  const t = await c.token();
  clk.t = (t.refresh_at + 5) * 1000; // stale, not expired
  const gate = v.hold();
  const served = await c.token();
  assert.equal(served.access_token, t.access_token, "the usable token, at once");
  gate.release();
  // The renewal lands in the cache.
  for (let i = 0; i < 1000 && c.cachedToken() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  assert.notEqual(c.cachedToken()?.access_token, t.access_token);
  await c.close();
});

test("a trapped instance is discarded; a new one takes over with the token", async () => {
  const v = vendor();
  const clk = clock();
  const saved = [];
  const store = { get: async () => saved.at(-1) ?? null, set: async (t) => { saved.push(t); } };
  const c = createClient(config, { fetch: v.fetch, now: clk.now, store });
  const t = await c.token();
  const core = c[internals].core();
  assert.throws(() => core.trapForTest(), (e) => e instanceof TokenError && e.code === "internal");
  assert.ok(core.dead);
  assert.equal(await c.token(), t, "the fresh token is still served from JS");
  clk.t += 1000;
  c.invalidate(); // the instance is dead: only the JS cache is dropped
  const t2 = await c.token();
  assert.notEqual(c[internals].core(), core, "a new instance");
  assert.ok(t2.access_token);
  await c.close();
});

test("close() cancels a request in flight; later calls fail with code closed", async () => {
  const v = vendor();
  let aborted = false;
  const c = createClient(config, {
    fetch: (url, init) => new Promise((_, reject) => {
      init.signal.addEventListener("abort", () => { aborted = true; reject(init.signal.reason); });
    }),
  });
  const p = c.token();
  await new Promise((r) => setTimeout(r, 50));
  await c.close();
  await assert.rejects(p, (e) => e instanceof TokenError && e.code === "closed");
  assert.ok(aborted);
  await assert.rejects(c.token(), (e) => e.code === "closed");
  void v;
});

test("options.signal closes the client", async () => {
  const v = vendor();
  const ac = new AbortController();
  const c = createClient(config, { fetch: v.fetch, signal: ac.signal });
  await c.token();
  ac.abort();
  await new Promise((r) => setTimeout(r, 10));
  c.invalidate();
  await assert.rejects(c.token(), (e) => e.code === "closed");
});

test("a caller's signal detaches that caller only", async () => {
  const v = vendor();
  const c = createClient(config, { fetch: v.fetch });
  const gate = v.hold();
  const ac = new AbortController();
  const mine = c.token({ signal: ac.signal });
  const other = c.token();
  ac.abort();
  await assert.rejects(mine, (e) => e.code === "aborted");
  gate.release();
  assert.ok((await other).access_token);
  assert.equal(v.n, 1);
  await c.close();
});

test("a config error names the field and no secret", async () => {
  const c = createClient({ ...config, licence: "" });
  const e = await c.token().then(() => null, (x) => x);
  assert.ok(e instanceof TokenError);
  assert.equal(e.code, "config");
  assert.equal(e.field, "licence");
  assert.ok(!JSON.stringify(e).includes("s3cret-pass"));
});

test("module sources: bytes, a Response, a WebAssembly.Module, a file URL", async () => {
  const bytes = readFileSync(WASM);
  const sources = [
    new Uint8Array(bytes),
    new Response(bytes, { headers: { "content-type": "application/wasm" } }),
    await WebAssembly.compile(bytes),
    pathToFileURL(WASM),
  ];
  for (const module of sources) {
    const v = vendor();
    const c = createClient(config, { fetch: v.fetch, module });
    assert.ok((await c.token()).access_token);
    await c.close();
  }
});

test("a module of another ABI version is refused, naming both numbers", async () => {
  // A minimal module that exports memory, _initialize and abi_version() = 1.
  const v1 = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f, // types: () → (), () → i32
    0x03, 0x03, 0x02, 0x00, 0x01, // two functions
    0x05, 0x03, 0x01, 0x00, 0x01, // one page of memory
    0x07, 0x26, 0x03,
    0x06, ...new TextEncoder().encode("memory"), 0x02, 0x00,
    0x0b, ...new TextEncoder().encode("_initialize"), 0x00, 0x00,
    0x0b, ...new TextEncoder().encode("abi_version"), 0x00, 0x01,
    0x0a, 0x09, 0x02, 0x02, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x01, 0x0b, // bodies: nop; i32.const 1
  ]);
  const c = createClient(config, { module: v1 });
  const e = await c.token().then(() => null, (x) => x);
  assert.ok(e instanceof TokenError);
  assert.match(e.message, /ABI version 1, this host speaks 2/);
});

test("a store that fails: reported as code store, the token served, kept and committed later, never re-requested", async () => {
  const v = vendor();
  let fail = true;
  let t = T0;
  const saved = [];
  const errors = [];
  const store = { get: async () => null, set: async (tok) => { if (fail) throw new Error("disk full"); saved.push(tok); } };
  const c = createClient(config, { fetch: v.fetch, store, now: () => t, onError: (e) => errors.push(e) });
  const first = await c.token();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof TokenError);
  assert.equal(errors[0].code, "store");
  assert.equal(saved.length, 0, "nothing stored yet");
  fail = false;
  // Once the token is past its expiry the cache cannot serve it: the core
  // commits the held token first (never lost), then renews it.
  t = first.expires_at * 1000 + 1;
  await new Promise((r) => setTimeout(r, 0)); // the first flight has ended
  const again = await c.token();
  assert.equal(saved.length, 2);
  assert.equal(saved[0].access_token, first.access_token, "the token served during the outage was stored first");
  assert.equal(saved[1].access_token, again.access_token);
  assert.ok(saved[1].rev > saved[0].rev);
  assert.equal(v.n, 2, "one renewal, for the expired token");
  await c.close();
});

test("clients sharing a memoryStore: one renews under the lease, the others adopt its token", async () => {
  const v = vendor();
  const store = memoryStore();
  const gate = v.hold();
  const cs = Array.from({ length: 5 }, () => createClient(config, { fetch: v.fetch, store, session: { lease_poll_ms: 20 } }));
  const pending = cs.map((c) => c.token());
  await new Promise((r) => setTimeout(r, 50));
  gate.release();
  const toks = await Promise.all(pending);
  assert.equal(v.n, 1, "one vendor request for five clients");
  assert.equal(new Set(toks.map((t) => t.access_token)).size, 1);
  assert.ok(toks[0].rev >= 1);
  assert.equal((await store.get()).access_token, toks[0].access_token);
  await Promise.all(cs.map((c) => c.close()));
});

test("memoryStore: a lost commit (another holder committed first) adopts the stored token", async () => {
  const store = memoryStore();
  const a = await store.lease(1000, "a");
  assert.equal(a.acquired, true);
  const b = await store.lease(1000, "b");
  assert.equal(b.acquired, false);
  assert.deepEqual(await store.commit({ access_token: "x", rev: 1 }, 0, "b"), { ok: false, token: null });
  assert.deepEqual(await store.commit({ access_token: "y", rev: 1 }, 0, "a"), { ok: true });
  assert.equal((await store.lease(1000, "b")).acquired, true);
  assert.equal((await store.commit({ access_token: "z", rev: 2 }, 0, "c")).ok, false, "not the holder");
  await store.release("b");
  assert.equal((await store.commit({ access_token: "z", rev: 2 }, 1, "c")).ok, true, "nobody holds it and rev is still 1");
});

test("fetch: an exception quoting the token is scrubbed; others reach the caller as they are", async () => {
  const v = vendor();
  let mode = "echo";
  const c = createClient({ ...config, base_url: "https://dqe.example" }, {
    fetch: async (input, init) => {
      const r = new Request(input, init);
      if (r.url.includes("ACCESS_TOKEN")) return v.fetch(input, init);
      if (mode === "echo") throw new TypeError(`bad request line: GET ${r.url}`);
      throw new RangeError("plain failure");
    },
  });
  const e = await c.fetch("https://dqe.example/IDMOBILE/?number=1").then(() => null, (x) => x);
  const t = c.cachedToken();
  assert.ok(e instanceof TokenError, String(e));
  assert.ok(!e.message.includes(t.access_token) && !e.message.includes("LIC-4711"), e.message);
  assert.match(e.message, /\[redacted\]/);
  mode = "plain";
  const e2 = await c.fetch("https://dqe.example/IDMOBILE/?number=1").then(() => null, (x) => x);
  assert.ok(e2 instanceof RangeError);
  await c.close();
});
