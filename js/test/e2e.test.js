// End to end against the Go emulator on loopback (a real HTTP server, started
// here): every provider and request variant, authorize and fetch for each
// attach style, the refused-token path, the emulator's fault modes, one
// flight for 100 callers, and no secret in any error or inspection.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { createClient, TokenError } from "../node.js";
import { startEmulator, secretsOf, PROVIDERS } from "./helpers.js";

let emu;
let formOnly;
const clients = [];
// Fast retries: the schedule is the core's, these only shrink its numbers.
const quick = { backoff_base_ms: 20, backoff_cap_ms: 50, budget_ms: 5000, hold_off_ms: 0 };

function client(config, options = {}) {
  const c = createClient(config, { session: quick, ...options });
  clients.push(c);
  return c;
}

before(async () => {
  emu = await startEmulator();
  formOnly = await startEmulator(["--bydesign-form-only"]);
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await emu.stop();
  await formOnly.stop();
});
beforeEach(async () => {
  await emu.reset();
  await emu.legacy(false);
});

const variants = [
  ["moversconnect", { encoding: "json" }],
  ["moversconnect", { encoding: "xml" }],
  ["moversconnect", { encoding: "form" }],
  ["dqe-idmobile", { method: "POST" }],
  ["dqe-idmobile", { method: "GET" }],
  ["bydesign", { encoding: "json", user_type: "rep" }],
  ["bydesign", { encoding: "form", user_type: "customer", username: "1146820" }],
  ["crmcom", {}],
  ["crmcom", { authentication_code: undefined, identifier: "DEMO-ACCESS-0001", pass_code: "424242" }],
  ["crmcom", { authentication_code: undefined, jwt: null, organisation: "demo_org" }],
];

for (const [p, set] of variants) {
  test(`token from the emulator: ${p} ${JSON.stringify(set)}`, async () => {
    const cfg = emu.config(p, set);
    for (const [k, v] of Object.entries(set)) if (v === undefined) delete cfg[k];
    if (cfg.jwt === null) cfg.jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ0b2tlbnNtaXRoLWVtdWxhdG9yLWlkbSIsInN1YiI6ImRlbW8uY29uc3VtZXIiLCJvcmciOiJkZW1vX29yZyJ9.ZGVtby1pZGVudGl0eS1zaWduYXR1cmUtbm90LXJlYWw";
    const c = client(cfg);
    const t = await c.token();
    assert.equal(t.provider, p);
    assert.ok(t.access_token.length > 8);
    assert.ok(t.refresh_at > Date.now() / 1000);
    assert.equal(c.cachedToken(), t, "the sync accessor serves the fresh token");
    assert.equal(await c.token(), t, "a fresh token is served from the cache");
    assert.equal(await emu.count(p), 1);
  });
}

test("ByDesign behind a form-only (OWIN) server: JSON refused once, then forms", async () => {
  const c = client(formOnly.config("bydesign", { encoding: "json" }));
  const t = await c.token();
  assert.ok(t.access_token);
  assert.equal(await formOnly.count("bydesign"), 2);
  assert.equal(t.learned?.encoding, "form");
});

// The vendor's protected resource for each attach style.
const api = {
  header: ["moversconnect", (u) => [`${u}/moversconnect/mobileapi/localservicesinquiry`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }],
    (req, t) => assert.equal(req.headers.get("Token"), t.access_token)],
  bearer: ["bydesign", (u) => [`${u}/bydesign/Acme/api/user/profile`, {}],
    (req, t) => assert.equal(req.headers.get("authorization"), `Bearer ${t.access_token}`)],
  "query (GET)": ["crmcom", (u) => [`${u}/crmcom/crmapi/rest/v2/contacts/contact_information/show?x=1`, {}],
    (req, t) => assert.equal(new URL(req.url).searchParams.get("token"), t.access_token)],
  "query (GET, with params)": ["dqe-idmobile", (u) => [`${u}/dqe/IDMOBILE/?number=0600000000`, {}],
    (req, t) => {
      const q = new URL(req.url).searchParams;
      assert.equal(q.get("token"), t.access_token);
      assert.equal(q.get("licence"), t.attach.params.licence);
      assert.equal(q.get("number"), "0600000000");
    }],
  form: ["dqe-idmobile", (u) => [`${u}/dqe/IDMOBILE/`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "number=0600000000" }],
    async (req, t) => {
      const q = new URLSearchParams(await req.text());
      assert.equal(q.get("token"), t.access_token);
      assert.equal(q.get("number"), "0600000000");
      assert.equal(new URL(req.url).search, "");
    }],
  json: ["crmcom", (u) => [`${u}/crmcom/crmapi/rest/v2/contacts/contact_information/show`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"fields":["email"]}' }],
    async (req, t) => {
      const b = JSON.parse(await req.text());
      assert.equal(b.token, t.access_token);
      assert.deepEqual(b.fields, ["email"]);
    }],
};

for (const [style, [p, make, check]] of Object.entries(api)) {
  test(`authorize and fetch, attach style ${style} (${p})`, async () => {
    const c = client(emu.config(p));
    const [url, init] = make(emu.url);
    const req = await c.authorize(url, init);
    const t = await c.token();
    await check(req.clone(), t);
    const direct = await fetch(req);
    assert.equal(direct.status, 200, await direct.clone().text());
    const res = await c.fetch(url, init);
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(await emu.count(p), 1);
  });
}

test("a refused token: one renewal, one retry (every provider)", async () => {
  for (const p of PROVIDERS) {
    const c = client(emu.config(p));
    const [url, init] = {
      moversconnect: api.header[1], "dqe-idmobile": api.form[1], bydesign: api.bearer[1], crmcom: api.json[1],
    }[p](emu.url);
    const t1 = await c.token();
    await emu.reset(); // the vendor forgets every token it issued
    const res = await c.fetch(url, init);
    assert.equal(res.status, 200, `${p}: ${await res.clone().text()}`);
    const t2 = c.cachedToken();
    assert.notEqual(t2.access_token, t1.access_token);
    // One renewal: a new grant, except at ByDesign, which first tries its
    // refresh token (forgotten too, so refused) and then grants.
    assert.equal(await emu.count(p), p === "bydesign" ? 2 : 1, `${p}: token requests`);
  }
});

test("a refused token in DQE's older style (HTTP 200, error_id 30)", async () => {
  const c = client(emu.config("dqe-idmobile"));
  const [url, init] = api.form[1](emu.url);
  await c.token();
  await emu.legacy(true);
  await emu.reset();
  await emu.legacy(true);
  const res = await c.fetch(url, init);
  const body = await res.json();
  assert.equal(body.status, "success", JSON.stringify(body));
  assert.equal(await emu.count("dqe-idmobile"), 1);
});

test("a second refusal goes to the caller as it is", async () => {
  const c = client(emu.config("crmcom"));
  const fetchCount = { n: 0 };
  const c2 = client(emu.config("crmcom"), {
    fetch: async (input, init) => {
      fetchCount.n++;
      const r = new Request(input, init);
      if (r.url.includes("contact_information")) return new Response("{}", { status: 401 });
      return fetch(r);
    },
  });
  const res = await c2.fetch(`${emu.url}/crmcom/crmapi/rest/v2/contacts/contact_information/show`);
  assert.equal(res.status, 401);
  assert.equal(fetchCount.n, 4, "grant, call, grant, retry");
  await c.close();
});

test("5xx with Retry-After: the core waits at least that long, then succeeds", async () => {
  await emu.inject("dqe-idmobile", [{ status: 503, retry_after: "1" }]);
  const c = client(emu.config("dqe-idmobile"));
  const t0 = Date.now();
  const t = await c.token();
  assert.ok(t.access_token);
  assert.ok(Date.now() - t0 >= 1000, "Retry-After honoured");
  assert.equal(await emu.count("dqe-idmobile"), 2);
});

test("5xx until the attempts run out: a retryable error with status and Retry-After", async () => {
  await emu.inject("crmcom", [{ status: 502, retry_after: "0" }, { status: 503, retry_after: "0" }, { status: 503, retry_after: "2" }]);
  const c = client(emu.config("crmcom"), { session: { ...quick, max_attempts: 3 } });
  const err = await c.token().then(() => null, (e) => e);
  assert.ok(err instanceof TokenError, String(err));
  assert.equal(err.code, "server_error");
  assert.equal(err.status, 503);
  assert.equal(err.retryable, true);
  assert.equal(err.retryAfter, 2);
  assert.equal(await emu.count("crmcom"), 3);
});

for (const [name, fault] of [["stall", { stall: true }], ["reset", { reset: true }], ["truncated body", { truncate: true }]]) {
  test(`fault: ${name} → a network error the core retries`, async () => {
    await emu.inject("bydesign", [fault]);
    const c = client(emu.config("bydesign"), { timeoutMs: 1500 });
    const t = await c.token();
    assert.ok(t.access_token);
    assert.equal(await emu.count("bydesign"), 2);
  });
}

test("fault: stall, every attempt → network error after the timeouts", async () => {
  await emu.inject("moversconnect", [{ stall: true }, { stall: true }]);
  const c = client(emu.config("moversconnect"), { timeoutMs: 1000, session: { ...quick, max_attempts: 2 } });
  const err = await c.token().then(() => null, (e) => e);
  assert.ok(err instanceof TokenError);
  assert.equal(err.code, "network");
  assert.equal(err.retryable, true);
});

test("fault: an oversized body is cut at 1 MiB + 1 byte and refused, not parsed", async () => {
  await emu.inject("dqe-idmobile", [{ oversize: true }]);
  let delivered = 0;
  const counting = async (input, init) => {
    const res = await fetch(input, init);
    const reader = res.body.getReader();
    const body = new ReadableStream({
      async pull(ctl) {
        const { done, value } = await reader.read();
        if (done) return ctl.close();
        delivered += value.length;
        ctl.enqueue(value);
      },
      cancel: (r) => reader.cancel(r),
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  const c = client(emu.config("dqe-idmobile"), { fetch: counting, session: { ...quick, max_attempts: 1 } });
  const err = await c.token().then(() => null, (e) => e);
  assert.ok(err instanceof TokenError, String(err));
  assert.equal(err.code, "malformed_response");
  assert.ok(delivered < 2 << 20, `read ${delivered} bytes of a 2 MiB body`);
  assert.equal(await emu.count("dqe-idmobile"), 1);
});

test("100 concurrent token() calls share one flight: one vendor request", async () => {
  const c = client(emu.config("crmcom"));
  const toks = await Promise.all(Array.from({ length: 100 }, () => c.token()));
  assert.equal(new Set(toks.map((t) => t.access_token)).size, 1);
  assert.equal(await emu.count("crmcom"), 1);
  c.invalidate();
  const again = await Promise.all(Array.from({ length: 100 }, () => c.token()));
  assert.equal(new Set(again.map((t) => t.access_token)).size, 1);
  assert.notEqual(again[0].access_token, toks[0].access_token);
  assert.equal(await emu.count("crmcom"), 2);
});

test("a store sees every new token before it is used, and a new client starts from it", async () => {
  const saved = [];
  const store = { get: async () => saved.at(-1) ?? null, set: async (t) => { saved.push(structuredClone(t)); } };
  const c = client(emu.config("moversconnect"), { store });
  const t = await c.token();
  assert.equal(saved.length, 1);
  assert.equal(saved[0].access_token, t.access_token);
  const c2 = client(emu.config("moversconnect"), { store });
  const t2 = await c2.token();
  assert.equal(t2.access_token, t.access_token, "adopted from the store");
  assert.equal(await emu.count("moversconnect"), 1);
});

test("no secret in any error, its stack, JSON or inspection, nor in the client's", async () => {
  const secrets = secretsOf(emu.configs);
  const errors = [];
  const grab = async (cfg, opts) => {
    const c = client(cfg, opts);
    errors.push(await c.token().then(() => null, (e) => e));
    return c;
  };
  await grab(emu.config("moversconnect", { password: "Wrong-Passw0rd-123" }));
  await grab(emu.config("bydesign", { password: "Wrong-Passw0rd-456" }));
  await grab(emu.config("dqe-idmobile", { method: "GET", base_url: "http://127.0.0.1:9" }), { session: { ...quick, max_attempts: 1 } });
  await grab(emu.config("crmcom", { key: "0123456789ABCDEF0123", unit: 5 }));
  await emu.inject("dqe-idmobile", [{ html: true, status: 500 }]);
  await grab(emu.config("dqe-idmobile"), { session: { ...quick, max_attempts: 1 } });
  secrets.push("Wrong-Passw0rd-123", "Wrong-Passw0rd-456", "0123456789ABCDEF0123");
  const clientsSeen = clients.slice(-5);
  for (const e of errors) {
    assert.ok(e instanceof TokenError, String(e));
    const texts = [e.message, e.stack, JSON.stringify(e), inspect(e), inspect(e, { showHidden: true, depth: 9 }), String(e)];
    for (const s of secrets) for (const t of texts) assert.ok(!t.includes(s), `${e.code} leaks a secret: ${t}`);
  }
  for (const c of clientsSeen) {
    for (const t of [JSON.stringify(c), inspect(c, { showHidden: true, depth: 9 }), String(c)]) {
      for (const s of secrets) assert.ok(!t.includes(s), `the client leaks a secret: ${t}`);
    }
  }
});
