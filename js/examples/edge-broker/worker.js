// An edge token broker: a module worker that holds the vendors' secrets as
// bindings and serves a browser app either a token for a vendor's API or a
// proxied call with the token attached. The secrets (passwords, client
// secrets, keys, refresh tokens) never reach the browser.
//
// It is not an open proxy: it forwards only to each vendor's configured API
// base, only the configured paths and methods, answers CORS only for the
// configured origins (and refuses any other origin outright), and strips
// hop-by-hop and credential headers both ways.
//
// Bindings (see config.capnp, to run it with workerd, and wrangler.toml.example):
//   BROKER             JSON, not secret: {"origins": ["https://app.example"],
//                      "vendors": {"<id>": {"secret": "TOKENSMITH_<ID>", "api": "https://vendor.example/api",
//                                           "allow": [{"methods": ["GET"], "path": "/users/*"}]}}}
//   TOKENSMITH_<ID>    secret text: the vendor config JSON (the command line's --config)
//
// Routes:
//   GET  /v/<id>/token        {"access_token", "token_type", "expires_at", "attach"}: for a browser that
//                             calls the vendor itself. Parameters the vendor wants beside the token
//                             (DQE's licence, a secret) stay here, named in "held_by_broker": call
//                             such a vendor through /v/<id>/api/ instead
//   ANY  /v/<id>/api/<path>   <api base>/<path>?<query>, the token attached, the answer passed back

import { createClient } from "../../index.js";
import wasm from "../../tokensmith.wasm";

const clients = new Map(); // vendor id → client; lives as long as the isolate

// Only these request headers go to the vendor; everything else (Cookie,
// Authorization, hop-by-hop, cf-*, x-forwarded-*) stays behind.
const FORWARD = ["accept", "accept-language", "content-type", "content-language", "if-none-match", "if-modified-since"];
// Never passed back to the browser.
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "set-cookie", "set-cookie2", "www-authenticate", "alt-svc"];
const MAX_BODY = 1 << 20;

function settings(env) {
  const b = typeof env.BROKER === "string" ? JSON.parse(env.BROKER) : env.BROKER;
  return { origins: new Set(b.origins || []), vendors: b.vendors || {} };
}

function clientFor(id, vendor, env) {
  let c = clients.get(id);
  if (!c) {
    const cfg = env[vendor.secret];
    if (typeof cfg !== "string" || !/^TOKENSMITH_[A-Z0-9_]+$/.test(vendor.secret)) return null;
    c = createClient(cfg, { module: wasm });
    clients.set(id, c);
  }
  return c;
}

function allowed(vendor, method, path) {
  for (const rule of vendor.allow || []) {
    const methods = (rule.methods || ["GET"]).map((m) => m.toUpperCase());
    if (!methods.includes(method)) continue;
    const p = rule.path || "";
    if (p.endsWith("/*") ? path.startsWith(p.slice(0, -1)) : path === p) return true;
  }
  return false;
}

function methodsFor(vendor) {
  return [...new Set((vendor.allow || []).flatMap((r) => (r.methods || ["GET"]).map((m) => m.toUpperCase())))];
}

function cors(origin, extra = {}) {
  return { "access-control-allow-origin": origin, vary: "Origin", ...extra };
}

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers } });
}

function failure(err, origin) {
  // TokenError carries no secret; only its public fields go out.
  const status = err && err.retryable ? 503 : 502;
  const headers = cors(origin);
  if (err && err.retryAfter) headers["retry-after"] = String(err.retryAfter);
  return json(status, { error: { code: (err && err.code) || "internal", retryable: Boolean(err && err.retryable) } }, headers);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const { origins, vendors } = settings(env);
    const origin = request.headers.get("origin");
    if (!origin || !origins.has(origin)) {
      return json(403, { error: { code: "origin_refused" } }, { vary: "Origin" });
    }
    const m = url.pathname.match(/^\/v\/([a-z0-9-]+)\/(token|api)(\/.*)?$/);
    const vendor = m && Object.hasOwn(vendors, m[1]) ? vendors[m[1]] : null;
    if (!vendor || (m[2] === "token" && m[3])) return json(404, { error: { code: "not_found" } }, cors(origin));
    const method = request.method.toUpperCase();
    const path = m[3] || "/";

    if (method === "OPTIONS") {
      const want = (request.headers.get("access-control-request-method") || "").toUpperCase();
      const ok = m[2] === "token" ? want === "GET" : allowed(vendor, want, path);
      if (!ok) return new Response(null, { status: 403, headers: { vary: "Origin" } });
      return new Response(null, { status: 204, headers: cors(origin, {
        "access-control-allow-methods": m[2] === "token" ? "GET" : methodsFor(vendor).join(", "),
        "access-control-allow-headers": "content-type, accept",
        "access-control-max-age": "600",
      }) });
    }

    const client = clientFor(m[1], vendor, env);
    if (!client) return json(500, { error: { code: "misconfigured" } }, cors(origin));

    if (m[2] === "token") {
      if (method !== "GET") return json(405, { error: { code: "method_not_allowed" } }, cors(origin, { allow: "GET" }));
      try {
        const t = await client.token();
        // attach.params are parameters the vendor wants beside the token;
        // DQE's is the licence, a secret: it stays here. A browser names
        // what it lacks from held_by_broker and calls such a vendor through
        // /v/<id>/api/ instead.
        const { params, ...attach } = t.attach || {};
        const held = params ? Object.keys(params) : [];
        const body = { access_token: t.access_token, token_type: t.token_type, expires_at: t.expires_at, attach };
        if (held.length) body.held_by_broker = held;
        return json(200, body, cors(origin));
      } catch (e) {
        return failure(e, origin);
      }
    }

    if (!allowed(vendor, method, path)) {
      const known = (vendor.allow || []).some((r) => (r.path.endsWith("/*") ? path.startsWith(r.path.slice(0, -1)) : r.path === path));
      return json(known ? 405 : 404, { error: { code: "not_allowed" } }, cors(origin));
    }
    const headers = new Headers();
    for (const h of FORWARD) {
      const v = request.headers.get(h);
      if (v !== null) headers.set(h, v);
    }
    const init = { method, headers, redirect: "manual" };
    if (method !== "GET" && method !== "HEAD") {
      const body = await request.arrayBuffer();
      if (body.byteLength > MAX_BODY) return json(413, { error: { code: "too_large" } }, cors(origin));
      init.body = body;
    }
    const base = new URL(vendor.api);
    const target = new URL(base.href.replace(/\/+$/, "") + path + url.search);
    if (target.origin !== base.origin) return json(404, { error: { code: "not_allowed" } }, cors(origin));
    let res;
    try {
      res = await client.fetch(target, init);
    } catch (e) {
      return failure(e, origin);
    }
    const out = new Headers();
    res.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.includes(k) && !k.startsWith("access-control-")) out.set(k, v);
    });
    for (const [k, v] of Object.entries(cors(origin))) out.set(k, v);
    return new Response(res.body, { status: res.status, headers: out });
  },
};
