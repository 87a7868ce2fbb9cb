// createClient: the token client. It performs the effects the core's steps
// name (protocol.md) and nothing else: the freshness check on the hot path is
// protocol.md's formula, every other decision (when to renew, retry, back off,
// give up, adopt a stored token) is the core's.

import { compile, coreFor } from "./engine.js";
import { TokenError } from "./errors.js";
import { send, readCapped, Cancelled } from "./http.js";

const inspect = Symbol.for("nodejs.util.inspect.custom");
/** Test hooks (not public API): the client's engine state. */
export const internals = Symbol("tokensmith.internals");

/**
 * fresh is protocol.md's host freshness check, the hot path: a token that
 * passes it is served without crossing into WebAssembly.
 */
export function fresh(t, nowMs) {
  if (!t || typeof t.access_token !== "string" || t.access_token === "" || t.refresh_at == null) return false;
  const s = Math.floor(nowMs / 1000);
  return (t.received_at == null || t.received_at - 60 <= s) && s < t.refresh_at;
}

function closedError() {
  return new TokenError({ code: "closed", message: "the client is closed" });
}

function abortedError() {
  return new TokenError({ code: "aborted", message: "the caller gave up waiting for a token" });
}

function parse(out) {
  try {
    return JSON.parse(out);
  } catch {
    throw new TokenError({ code: "internal", message: "tokensmith.wasm answered something that is not JSON" });
  }
}

function randomSeed() {
  const w = crypto.getRandomValues(new Uint32Array(2));
  return (w[0] & 0x1fffff) * 2 ** 32 + w[1]; // 53 bits: exact as a JSON number
}

function storeError(what, e) {
  return { error: { code: "store", message: `store.${what} failed` + (e && e.name && e.name !== "Error" ? ` (${e.name})` : "") } };
}

// Go's canonical header form, which the core's attach rules look up
// ("Content-Type"); fetch hands names over lower-cased.
function canonical(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled());
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      signal.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(new Cancelled());
    }
    signal.addEventListener("abort", abort, { once: true });
  });
}

// Tokens handed out are shared by every caller (and kept in the cache):
// frozen, so that one caller cannot change what the others are served.
function frozen(t) {
  if (t && typeof t === "object" && !Object.isFrozen(t)) {
    for (const v of Object.values(t)) if (v && typeof v === "object") frozen(v);
    Object.freeze(t);
  }
  return t;
}

// scrub: an exception from the API call whose text quotes the token (an
// "Invalid URL" with the token in its query, a proxy echoing the request
// line) is replaced by a TokenError with the values masked, as the Go
// Transport does; any other exception reaches the caller unchanged.
function scrub(e, tok) {
  const vals = [tok.access_token, tok.attach && tok.attach.value, ...Object.values((tok.attach && tok.attach.params) || {})]
    .filter((v) => typeof v === "string" && v.length >= 4);
  const forms = vals.flatMap((v) => [v, encodeURIComponent(v), new URLSearchParams({ v }).toString().slice(2)]);
  const texts = [String(e && e.message), String(e && e.stack), String(e && e.cause && e.cause.message)];
  if (!forms.some((f) => texts.some((t) => t.includes(f)))) return e;
  let msg = String(e && e.message);
  for (const f of forms) msg = msg.split(f).join("[redacted]");
  return new TokenError({ code: "network", message: `${(e && e.name) || "Error"}: ${msg}` });
}

function asToken(v) {
  if (v == null || v === "") return null;
  if (typeof v === "string") return JSON.parse(v);
  return v;
}

/**
 * The effects of a store (protocol.md "Trivial host" unless the store brings
 * its own lease/commit/release, as a shared store does).
 */
function storeEffects(store) {
  // The lease holder's identity towards a shared store, one per client; drawn
  // on first use (workerd refuses random values at global scope).
  let id = null;
  const owner = () => (id ??= Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join(""));
  const shared = store && typeof store.lease === "function" && typeof store.commit === "function" && typeof store.release === "function";
  return {
    async lease(ttlMs) {
      if (shared) {
        try {
          const r = await store.lease(ttlMs, owner());
          return { acquired: Boolean(r && r.acquired), token: asToken(r && r.token) };
        } catch (e) {
          return storeError("lease", e);
        }
      }
      if (!store) return { acquired: true, token: null };
      try {
        return { acquired: true, token: asToken(await store.get()) };
      } catch (e) {
        return storeError("get", e);
      }
    },
    async commit(token, baseRev) {
      try {
        if (shared) {
          const r = await store.commit(token, baseRev, owner());
          return r && r.ok ? { ok: true } : { ok: false, token: asToken(r && r.token) };
        }
        if (store) await store.set(token);
        return { ok: true };
      } catch (e) {
        return storeError(shared ? "commit" : "set", e);
      }
    },
    async release() {
      if (shared) {
        try {
          await store.release(owner());
        } catch {
          // The lease expires after its TTL anyway; the core is told either way.
        }
      }
    },
    async wait(untilMs, nowMs, signal) {
      if (store && typeof store.wait === "function") {
        // A shared store may wake a follower early (a notification).
        return Promise.race([store.wait(untilMs, signal, owner()), sleep(untilMs - nowMs, signal)]);
      }
      return sleep(untilMs - nowMs, signal);
    },
  };
}

/**
 * @param {object|string} config the command line's config (wire format)
 * @param {object} options see index.d.ts
 * @param {{source: () => any, hooks?: object}} runtime how this runtime finds the module
 */
export function makeClient(config, options = {}, runtime) {
  const configJSON = typeof config === "string" ? config : JSON.stringify(config);
  let provider = "";
  try {
    provider = String(JSON.parse(configJSON).provider ?? "");
  } catch {
    // The core reports the config error on first use, naming the field.
  }
  const fetchImpl = options.fetch ?? ((...a) => globalThis.fetch(...a));
  const now = options.now ?? Date.now;
  const effects = storeEffects(options.store ?? null);
  const onError = typeof options.onError === "function" ? options.onError : () => {};
  const sessionOptions = { ...(options.session || {}) };
  if (options.timeoutMs != null) sessionOptions.timeout_ms = options.timeoutMs;
  const source = options.module ?? null;

  const closing = new AbortController();
  let closed = false;
  let cache = null; // the last token the core handed out
  let flight = null; // the renewal in progress, shared by every caller
  let core = null;
  let h = 0;

  if (options.signal) {
    if (options.signal.aborted) closed = true;
    else options.signal.addEventListener("abort", () => { client.close(); }, { once: true });
  }

  async function session() {
    if (closed) throw closedError();
    if (core && !core.dead && h) return;
    const module = await compile(source ?? runtime.source(), runtime.hooks);
    const c = await coreFor(module);
    if (closed) throw closedError();
    const opts = { seed: randomSeed(), ...sessionOptions };
    const out = parse(c.sessionNew(configJSON, JSON.stringify(opts)));
    if (out.error) throw new TokenError(out.error);
    core = c;
    h = out.session;
    // After a trap: the token we served lives on in the new instance (the
    // stored one comes back through the lease step anyway).
    if (cache) c.restore(h, JSON.stringify(cache));
  }

  // drive performs steps until the core hands out a token or an error. A
  // step's usable token is offered to waiting callers (stale-while-renew).
  async function drive(f) {
    await session();
    let step = parse(core.next(h, now()));
    for (;;) {
      if (step.usable) f.offer(frozen(step.usable));
      if (step.token !== undefined) {
        cache = frozen(step.token);
        return cache;
      }
      if (step.error) {
        const err = new TokenError(step.error);
        if (step.usable) {
          onError(err);
          return step.usable;
        }
        throw err;
      }
      try {
        if (step.request) {
          const resp = await send(step.request, { fetch: fetchImpl, signal: closing.signal });
          step = parse(core.feed(h, now(), JSON.stringify({ response: resp })));
        } else if (step.wait) {
          await effects.wait(step.wait.until_ms, now(), closing.signal);
          step = parse(core.next(h, now()));
        } else if (step.lease) {
          const r = await effects.lease(step.lease.ttl_ms);
          if (closed) throw new Cancelled();
          step = parse(core.feed(h, now(), JSON.stringify({ lease: r })));
        } else if (step.commit) {
          const r = await effects.commit(step.commit.token, step.commit.base_rev);
          step = parse(core.feed(h, now(), JSON.stringify({ commit: r })));
        } else if (step.release) {
          await effects.release();
          step = parse(core.feed(h, now(), JSON.stringify({ release: {} })));
        } else if (step.pending) {
          throw new TokenError({ code: "usage", message: "the session is driven elsewhere (pending)" });
        } else {
          throw new TokenError({ code: "internal", message: "unknown step from tokensmith.wasm" });
        }
      } catch (e) {
        if (!(e instanceof Cancelled)) throw e;
        // The client closed mid-step: the core forgets the step and says
        // whether a lease is ours to give back.
        if (core && !core.dead && h) {
          const r = parse(core.cancel(h));
          if (r.release) await effects.release();
        }
        throw closedError();
      }
    }
  }

  function startFlight() {
    let resolve, reject;
    let answered = false;
    const answer = new Promise((res, rej) => { resolve = res; reject = rej; });
    answer.catch(() => {}); // a caller that gave up (its signal) leaves no unhandled rejection
    const f = {
      answer,
      offer(t) {
        if (!answered) { answered = true; resolve(t); }
      },
      fail(e) {
        if (!answered) { answered = true; reject(e); } else onError(e);
      },
    };
    f.done = drive(f).then((t) => f.offer(t), (e) => f.fail(e)).finally(() => {
      if (flight === f) flight = null;
    });
    return f;
  }

  async function token(opts) {
    const t = cache;
    if (fresh(t, now())) return t;
    if (closed) throw closedError();
    if (!flight) flight = startFlight();
    const signal = opts && opts.signal;
    if (!signal) return flight.answer;
    if (signal.aborted) throw abortedError();
    return new Promise((resolve, reject) => {
      const abort = () => reject(abortedError());
      signal.addEventListener("abort", abort, { once: true });
      flight.answer.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
    });
  }

  // toWire describes a Request for the core's attach rules, with body.
  function toWire(req, body) {
    const headers = {};
    req.headers.forEach((v, k) => { headers[canonical(k)] = v; });
    return { method: req.method, url: req.url, headers, body };
  }

  function attachOnce(wire) {
    const out = parse(core.attach(h, JSON.stringify(wire)));
    if (out.error) throw new TokenError(out.error);
    return out.request;
  }

  // attachTo builds the Request carrying the session's token: the body is
  // only decoded (and rewritten) when the token goes inside it.
  function attachTo(req, bytes) {
    let out = attachOnce(toWire(req, ""));
    let body = bytes;
    if (out.body !== "" && out.body != null) {
      out = attachOnce(toWire(req, bytes ? new TextDecoder().decode(bytes) : ""));
      body = out.body;
    }
    const init = { method: out.method, headers: out.headers, redirect: req.redirect, signal: req.signal };
    if (body != null && body !== "" && out.method !== "GET" && out.method !== "HEAD") {
      init.body = body;
    }
    // The caller's fetch options, where they differ from the defaults (workerd
    // implements few of them and refuses some, e.g. cache, even when unset).
    const defaults = { credentials: "same-origin", mode: "cors", cache: "default", referrerPolicy: "", integrity: "", keepalive: false };
    for (const [k, d] of Object.entries(defaults)) {
      if (req[k] !== undefined && req[k] !== d) init[k] = req[k];
    }
    return new Request(out.url, init);
  }

  async function prepare(input, init) {
    const req = new Request(input, init);
    const bytes = req.body ? new Uint8Array(await req.arrayBuffer()) : null;
    return { req, bytes };
  }

  async function refused(res) {
    const headers = {};
    res.headers.forEach((v, k) => { headers[k] = v; });
    const ask = (body) => parse(core.refused(h, JSON.stringify({ status: res.status, headers, body }))).refused === true;
    if (ask("")) return true;
    // DQE's older style answers a refused token 200 with error_id 30: the core
    // needs the body for that; read a bounded copy, leave the caller's intact.
    const ct = res.headers.get("content-type") || "";
    if (!res.body || !/json|text/i.test(ct)) return false;
    return ask(await readCapped(res.clone(), 64 << 10).catch(() => ""));
  }

  function dropToken(accessToken) {
    if (core && !core.dead && h) core.invalidate(h, JSON.stringify({ access_token: accessToken }));
    if (cache && cache.access_token === accessToken) cache = null;
  }

  const client = {
    get provider() { return provider; },
    token,
    cachedToken() {
      const t = cache;
      return fresh(t, now()) ? t : undefined;
    },
    async authorize(input, init) {
      const { req, bytes } = await prepare(input, init);
      await token({ signal: req.signal });
      return attachTo(req, bytes);
    },
    async fetch(input, init) {
      const { req, bytes } = await prepare(input, init);
      const tok = await token({ signal: req.signal });
      const send = (r, t) => fetchImpl(r).catch((e) => { throw scrub(e, t); });
      const res = await send(attachTo(req, bytes), tok);
      if (!(await refused(res))) return res;
      // One renewal and one retry, as the Go Transport does; a second
      // refusal goes to the caller as it is.
      dropToken(tok.access_token);
      let tok2;
      try {
        tok2 = await token({ signal: req.signal });
      } catch {
        return res;
      }
      if (tok2.access_token === tok.access_token) return res;
      const retry = attachTo(req, bytes);
      res.body?.cancel().catch(() => {});
      return send(retry, tok2);
    },
    invalidate() {
      if (cache) dropToken(cache.access_token);
    },
    async close() {
      if (closed && !core) return;
      closed = true;
      closing.abort();
      if (flight) await flight.done.catch(() => {});
      if (core && !core.dead && h) core.free(h);
      core = null;
      h = 0;
    },
    toJSON() {
      return { provider };
    },
    [inspect]() {
      return `TokenClient { provider: ${JSON.stringify(provider)} }`;
    },
    [internals]: {
      core: () => core,
      handle: () => h,
    },
  };
  return client;
}
