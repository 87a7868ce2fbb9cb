// The HTTP effect of a request step (protocol.md): send it with the
// platform's fetch, never follow a redirect, abort after the step's
// timeout_ms, read at most 1 MiB + 1 byte of body, and describe the outcome
// as a wire response. No retry, no interpretation: the core decides.

export const BODY_CAP = (1 << 20) + 1;

/** Thrown (not fed) when the client itself gave up: close() or its signal. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

const dec = new TextDecoder();

function anySignal(signals) {
  if (typeof AbortSignal.any === "function") return AbortSignal.any(signals);
  const c = new AbortController();
  for (const s of signals) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener("abort", () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

// A browser page or worker: where a TypeError from fetch may be a CORS
// refusal. Node and workerd have no CORS.
function inBrowser() {
  return typeof globalThis.document !== "undefined" ||
    (typeof globalThis.WorkerGlobalScope !== "undefined" && typeof globalThis.navigator !== "undefined" &&
      !String(globalThis.navigator.userAgent || "").includes("Cloudflare-Workers"));
}

function networkError(message) {
  return { error: { code: "network", message } };
}

// A transport failure in fixed words: the class of error and Node's reason
// code (ECONNREFUSED, UND_ERR_SOCKET…), never the exception's message.
function describe(e) {
  const code = e?.cause?.code ?? e?.code;
  const name = e?.name && e.name !== "Error" ? e.name : "fetch failed";
  return typeof code === "string" && /^[A-Z0-9_]{2,40}$/.test(code) ? `${name}: ${code}` : name;
}

/**
 * send performs request step R.
 * @param {{method: string, url: string, headers?: object, body?: string, timeout_ms?: number}} R
 * @param {{fetch: typeof fetch, signal: AbortSignal}} env signal: the client's own (close)
 * @returns {Promise<object>} the wire response
 */
export async function send(R, env) {
  const timeoutMs = R.timeout_ms > 0 ? R.timeout_ms : 60000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = anySignal([timeout, env.signal]);
  const init = { method: R.method || "GET", headers: R.headers || {}, redirect: "manual", signal };
  // fetch refuses any body on GET/HEAD, even "".
  if (R.body !== undefined && R.body !== null && R.body !== "") init.body = R.body;
  const failed = async (e) => {
    if (env.signal.aborted) throw new Cancelled();
    if (timeout.aborted) return networkError(`timeout after ${timeoutMs} ms`);
    if (e instanceof TypeError && inBrowser() && (await reachable(R, env))) {
      return { error: { code: "cors", message: "the browser refused the answer (CORS)" } };
    }
    return networkError(describe(e));
  };
  let res;
  try {
    res = await env.fetch(R.url, init);
  } catch (e) {
    return failed(e);
  }
  if (res.type === "opaqueredirect") return { status: 0, headers: {}, body: "" };
  if (res.type === "opaque") return { error: { code: "cors", message: "opaque answer (CORS)" } };
  const headers = {};
  res.headers.forEach((v, k) => { headers[k] = v; });
  let body;
  try {
    body = await readCapped(res, BODY_CAP);
  } catch (e) {
    return failed(e);
  }
  return { status: res.status, headers, body };
}

/** readCapped reads at most cap bytes of res's body, as text. */
export async function readCapped(res, cap) {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts = [];
  let n = 0;
  try {
    while (n < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, cap - n);
      parts.push(take === value.length ? value : value.subarray(0, take));
      n += take;
    }
  } finally {
    if (n >= cap) reader.cancel().catch(() => {});
    else reader.releaseLock();
  }
  const all = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return dec.decode(all);
}

// After a TypeError in a browser: is the origin reachable at all? A no-cors
// HEAD of the bare path (no query, no body: nothing secret leaves) answers
// opaquely when the server is up, so the failure was CORS, not the network.
async function reachable(R, env) {
  try {
    const u = new URL(R.url);
    const res = await env.fetch(u.origin + u.pathname, {
      // no-cors allows only redirect "follow"; nothing secret is in this request to follow with.
      method: "HEAD", mode: "no-cors", credentials: "omit",
      signal: anySignal([AbortSignal.timeout(5000), env.signal]),
    });
    return res.type === "opaque" || res.type === "opaqueredirect" || res.ok;
  } catch {
    return false;
  }
}
