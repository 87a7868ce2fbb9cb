// The core's WebAssembly module behind ABI v2 (wasm/ABI.md): compiling it
// once per realm, instantiating lazily, and calling its exports one at a time
// with JSON in and out. Every export call is synchronous, so two calls can
// never interleave inside one Go instance (never JSPI: ../../shared notes).

import { wasiShim, ProcExit } from "./wasi.js";
import { TokenError } from "./errors.js";

export const ABI_VERSION = 2;

const enc = new TextEncoder();
const dec = new TextDecoder();

// One compilation per source per realm.
const byObject = new WeakMap(); // Module | ArrayBuffer | Response → Promise<Module>
const byURL = new Map(); // href → Promise<Module>
// One live instance per compiled module; replaced when it traps.
const cores = new WeakMap(); // Module → Core

function isBytes(x) {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

async function compileResponse(res) {
  if (!res.ok) throw new TokenError({ code: "internal", message: `tokensmith.wasm: HTTP ${res.status}` });
  const ct = res.headers.get("content-type") || "";
  if (typeof WebAssembly.compileStreaming === "function" && ct.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

/**
 * compile turns a module source into a WebAssembly.Module, once per source.
 * @param {any} source a WebAssembly.Module, bytes, a Response (or a promise
 *   of one), a URL or URL string
 * @param {{readFile?: (url: URL) => Promise<Uint8Array>}} hooks how this
 *   runtime reads file: URLs (Node)
 */
export function compile(source, hooks = {}) {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source && typeof source.then === "function") return Promise.resolve(source).then((s) => compile(s, hooks));
  let key, make;
  if (isBytes(source)) {
    key = ArrayBuffer.isView(source) ? source.buffer : source;
    make = () => WebAssembly.compile(source);
  } else if (typeof Response !== "undefined" && source instanceof Response) {
    key = source;
    make = () => compileResponse(source);
  } else if (source instanceof URL || typeof source === "string") {
    const url = new URL(String(source));
    const href = url.href;
    let p = byURL.get(href);
    if (!p) {
      p = (url.protocol === "file:" && hooks.readFile
        ? hooks.readFile(url).then((b) => WebAssembly.compile(b))
        : fetch(url).then(compileResponse));
      p.catch(() => byURL.delete(href)); // a failed load may be retried
      byURL.set(href, p);
    }
    return p;
  } else {
    return Promise.reject(new TokenError({ code: "usage", message: "module: want a URL, bytes, a Response or a WebAssembly.Module" }));
  }
  let p = byObject.get(key);
  if (!p) {
    p = make();
    p.catch(() => byObject.delete(key));
    byObject.set(key, p);
  }
  return p;
}

/** The live instance of module, instantiated on first use. */
export async function coreFor(module) {
  let c = cores.get(module);
  if (c && !c.dead) return c;
  c = await Core.instantiate(module);
  const again = cores.get(module); // another caller may have won the race
  if (again && !again.dead) return again;
  cores.set(module, c);
  return c;
}

/** One instance of the module: the ABI v2 exports, JSON strings in and out. */
export class Core {
  static async instantiate(module) {
    let memory = null;
    const shim = wasiShim(() => memory);
    let instance;
    try {
      // The v1 imports are answered too (as "no fetch"), so that a v1 module
      // instantiates and is refused by its version number, not a link error.
      instance = await WebAssembly.instantiate(module, {
        wasi_snapshot_preview1: shim.imports,
        tokensmith: { fetch: () => -1, fetch_read: () => -1 },
      });
    } catch (e) {
      const what = e instanceof TypeError || e instanceof WebAssembly.LinkError ? `${e.name}: ${String(e.message).slice(0, 120)}` : errName(e);
      throw new TokenError({ code: "internal", message: "tokensmith.wasm cannot be instantiated: " + what });
    }
    memory = instance.exports.memory;
    const c = new Core(instance, shim.stats);
    c.#guard(() => instance.exports._initialize());
    const v = c.#guard(() => instance.exports.abi_version());
    if (v !== ABI_VERSION) {
      c.dead = true;
      throw new TokenError({ code: "internal", message: `tokensmith.wasm speaks ABI version ${v}, this host speaks ${ABI_VERSION}` });
    }
    return c;
  }

  /** @type {boolean} true once the instance trapped: discard it */
  dead = false;
  #x;
  #buf = 0;
  #cap = 0;

  constructor(instance, stats) {
    this.#x = instance.exports;
    this.stats = stats;
  }

  // Runs an export; a trap (or proc_exit) kills the instance for good.
  #guard(fn) {
    if (this.dead) throw new TokenError({ code: "internal", message: "tokensmith.wasm instance is dead", retryable: true });
    try {
      return fn();
    } catch (e) {
      this.dead = true;
      const what = e instanceof ProcExit ? e.message : "tokensmith.wasm trapped: " + errName(e);
      throw new TokenError({ code: "internal", message: what, retryable: true });
    }
  }

  // Copies s into the reusable guest input buffer: [ptr, len].
  #input(s) {
    const b = enc.encode(s);
    if (b.length > this.#cap) {
      if (this.#buf) this.#x.buf_free(this.#buf);
      const cap = Math.max(4096, b.length);
      const p = this.#x.buf_alloc(cap) >>> 0;
      if (p === 0) {
        this.#buf = 0;
        this.#cap = 0;
        throw new TokenError({ code: "usage", message: "input too large for tokensmith.wasm" });
      }
      this.#buf = p;
      this.#cap = cap;
    }
    new Uint8Array(this.#x.memory.buffer, this.#buf, b.length).set(b);
    return [this.#buf, b.length];
  }

  // The output of the last session_* call, copied out of guest memory.
  #output(len) {
    const ptr = this.#x.out_ptr() >>> 0;
    // A fresh view: memory may have grown (and detached old views) in the call.
    return dec.decode(new Uint8Array(this.#x.memory.buffer, ptr, len >>> 0));
  }

  #call(name, ...args) {
    return this.#guard(() => this.#output(this.#x[name](...args)));
  }

  #callIn(name, h, s, now) {
    return this.#guard(() => {
      const [p, n] = this.#input(s);
      return this.#output(now === undefined ? this.#x[name](h, p, n) : this.#x[name](h, now, p, n));
    });
  }

  sessionNew(config, options) {
    return this.#guard(() => {
      const c = enc.encode(config);
      const o = enc.encode(options);
      const cp = this.#x.buf_alloc(Math.max(c.length, 1)) >>> 0;
      const op = this.#x.buf_alloc(Math.max(o.length, 1)) >>> 0;
      if (!cp || !op) throw new TokenError({ code: "usage", message: "config too large for tokensmith.wasm" });
      const mem = new Uint8Array(this.#x.memory.buffer);
      mem.set(c, cp);
      mem.set(o, op);
      const out = this.#output(this.#x.session_new(cp, c.length, op, o.length));
      this.#x.buf_free(cp);
      this.#x.buf_free(op);
      return out;
    });
  }
  next(h, now) { return this.#call("session_next", h, now); }
  feed(h, now, input) { return this.#callIn("session_feed", h, input, now); }
  restore(h, tok) { return this.#callIn("session_restore", h, tok); }
  token(h) { return this.#call("session_token", h); }
  attach(h, req) { return this.#callIn("session_attach", h, req); }
  invalidate(h, input) { return this.#callIn("session_invalidate", h, input); }
  refused(h, resp) { return this.#callIn("session_refused", h, resp); }
  redact(h, text) { return this.#callIn("session_redact", h, text); }
  cancel(h) { return this.#call("session_cancel", h); }
  free(h) { return this.#call("session_free", h); }

  /** Test hook: a genuine trap (Go's heap overwritten, then a call). */
  trapForTest() {
    return this.#guard(() => {
      new Uint8Array(this.#x.memory.buffer).fill(0xff);
      return this.#x.session_next(1, 1e12);
    });
  }
}

function errName(e) {
  // Only the error's class and a fixed-size excerpt of a WebAssembly error:
  // never a message that could quote an input.
  if (e instanceof WebAssembly.RuntimeError || e instanceof WebAssembly.LinkError || e instanceof WebAssembly.CompileError) {
    return `${e.name}: ${String(e.message).slice(0, 80)}`;
  }
  return e && e.name ? e.name : "error";
}
