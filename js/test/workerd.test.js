// workerd (from npm): the vector runner inside it, with the same counts as in
// Node and Go, and the edge broker (examples/edge-broker) against the
// emulator, driven over HTTP.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startWorkerd, packageModules } from "./workerd.js";
import { loadVectors, startEmulator, goReference, JS_DIR, PROVIDERS, secretsOf } from "./helpers.js";
import { countsLine, compareTranscripts } from "./vectors-core.js";

test("every vector passes inside workerd, with the Go run's counts and transcripts", async () => {
  const vectors = loadVectors();
  const ref = goReference();
  const w = await startWorkerd({
    modules: [
      { name: "test/workerd-vectors.worker.js", from: join(JS_DIR, "test", "workerd-vectors.worker.js"), type: "esModule" },
      { name: "test/vectors-core.js", from: join(JS_DIR, "test", "vectors-core.js"), type: "esModule" },
      { name: "test/vectors.json", content: JSON.stringify(vectors), type: "json" },
      ...packageModules(),
    ],
  });
  try {
    const res = await fetch(w.url + "/run");
    assert.equal(res.status, 200, w.log());
    const { counts, passed, failed, transcripts } = await res.json();
    for (const r of failed) console.log(`FAIL ${r.name}\n  ${r.failures.join("\n  ")}`);
    for (const p of PROVIDERS) assert.ok(ref.counts[p] >= 15);
    assert.deepEqual(counts, ref.counts, "workerd ran every vector the Go run ran");
    assert.equal(failed.length, 0, `${failed.length} vectors failed in workerd`);
    assert.deepEqual(passed, ref.counts);
    const diffs = compareTranscripts(transcripts, ref.transcripts);
    assert.deepEqual(diffs, [], `transcripts differ from the native Go core's:\n${diffs.join("\n")}`);
    const line = `conformance vectors (workerd, transcripts = native Go): ${countsLine(passed)}`;
    console.log(line);
    writeFileSync(join(JS_DIR, "test", ".counts-workerd"), line + "\n");
  } finally {
    await w.stop();
  }
});

const APP = "https://app.example";

// What the broker is allowed to do at each vendor, per the emulator's paths.
function brokerSpec(emu, echoURL) {
  const b = (p) => emu.configs[p].base_url;
  const vendors = {
    moversconnect: { api: b("moversconnect") + "/mobileapi", allow: [{ methods: ["POST"], path: "/localservicesinquiry" }] },
    "dqe-idmobile": { api: b("dqe-idmobile"), allow: [{ methods: ["GET", "POST"], path: "/IDMOBILE/" }] },
    bydesign: { api: b("bydesign") + "/api", allow: [{ methods: ["GET"], path: "/user/profile" }] },
    crmcom: { api: b("crmcom"), allow: [{ methods: ["GET", "POST"], path: "/contacts/contact_information/show" }] },
    echo: { api: echoURL, allow: [{ methods: ["GET", "POST"], path: "/echo/*" }] },
  };
  const bindings = [];
  for (const [id, v] of Object.entries(vendors)) {
    v.secret = "TOKENSMITH_" + id.toUpperCase().replace(/-/g, "_");
    bindings.push({ name: v.secret, text: JSON.stringify(id === "echo" ? emu.configs.crmcom : emu.configs[id]) });
  }
  bindings.push({ name: "BROKER", json: JSON.stringify({ origins: [APP], vendors }) });
  return {
    modules: [
      { name: "examples/edge-broker/worker.js", from: join(JS_DIR, "examples", "edge-broker", "worker.js"), type: "esModule" },
      ...packageModules(),
    ],
    bindings,
  };
}

let emu, broker, echo, echoed;
before(async () => {
  emu = await startEmulator();
  echoed = [];
  echo = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      echoed.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.setHeader("set-cookie", "vendor=1");
      res.setHeader("content-type", "application/json");
      res.end('{"ok":true}');
    });
  });
  await new Promise((r) => echo.listen(0, "127.0.0.1", r));
  broker = await startWorkerd(brokerSpec(emu, `http://127.0.0.1:${echo.address().port}`));
});
after(async () => {
  await broker?.stop();
  await emu?.stop();
  echo?.close();
});

const get = (path, headers = { origin: APP }, init = {}) => fetch(broker.url + path, { headers, ...init });

test("broker: a token for each provider, no secret in it", async () => {
  const secrets = secretsOf(emu.configs);
  for (const p of PROVIDERS) {
    const res = await get(`/v/${p}/token`);
    const text = await res.text();
    assert.equal(res.status, 200, `${p}: ${text} ${broker.log()}`);
    assert.equal(res.headers.get("access-control-allow-origin"), APP);
    const t = JSON.parse(text);
    assert.ok(t.access_token.length > 8, p);
    assert.equal(t.refresh_token, undefined);
    for (const s of secrets) assert.ok(!text.includes(s), `${p}: the broker's answer leaks a secret`);
    if (p === "dqe-idmobile") assert.deepEqual(t.held_by_broker, ["licence"], "the licence stays in the broker");
  }
});

test("broker: proxied calls with the token attached, for each provider", async () => {
  const calls = [
    ["moversconnect", "/v/moversconnect/api/localservicesinquiry", { method: "POST", body: "{}", headers: { origin: APP, "content-type": "application/json" } }],
    ["dqe-idmobile", "/v/dqe-idmobile/api/IDMOBILE/?number=0600000000", { headers: { origin: APP } }],
    ["bydesign", "/v/bydesign/api/user/profile", { headers: { origin: APP } }],
    ["crmcom", "/v/crmcom/api/contacts/contact_information/show", { headers: { origin: APP } }],
  ];
  for (const [p, path, init] of calls) {
    const res = await fetch(broker.url + path, init);
    const text = await res.text();
    assert.equal(res.status, 200, `${p}: ${text}`);
    assert.equal(res.headers.get("access-control-allow-origin"), APP);
  }
});

test("broker: credential and hop-by-hop headers stripped both ways", async () => {
  const res = await fetch(broker.url + "/v/echo/api/echo/x?a=1", {
    method: "POST",
    body: '{"q":1}',
    headers: { origin: APP, "content-type": "application/json", cookie: "session=abc", authorization: "Basic dXNlcjpwYXNz",
      "x-forwarded-for": "10.0.0.1", "proxy-authorization": "Basic eA==", "x-api-key": "k-123456" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("set-cookie"), null);
  const seen = echoed.at(-1);
  assert.equal(seen.url.split("?")[0], "/echo/x");
  for (const h of ["cookie", "authorization", "x-forwarded-for", "proxy-authorization", "x-api-key"]) {
    assert.equal(seen.headers[h], undefined, `${h} reached the vendor`);
  }
  assert.equal(JSON.parse(seen.body).q, 1);
  assert.ok(JSON.parse(seen.body).token, "the token went in the JSON body (CRM.COM style)");
});

test("broker: a refused origin", async () => {
  const before = await emu.count("crmcom");
  for (const headers of [{ origin: "https://evil.example" }, {}]) {
    const res = await get("/v/crmcom/token", headers);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    await res.text();
  }
  const pre = await get("/v/crmcom/token", { origin: "https://evil.example", "access-control-request-method": "GET" }, { method: "OPTIONS" });
  assert.equal(pre.status, 403);
  assert.equal(await emu.count("crmcom"), before);
});

test("broker: a refused path, method and vendor; a preflight for an allowed one", async () => {
  const n = echoed.length;
  for (const [path, init, status] of [
    ["/v/crmcom/api/contacts/other", {}, 404],
    ["/v/crmcom/api/contacts/contact_information/show/../../../../moversconnect/mobiletoken", {}, 404],
    ["/v/crmcom/api/%2e%2e/%2e%2e/x", {}, 404],
    ["/v/bydesign/api/user/profile", { method: "DELETE" }, 405],
    ["/v/nobody/token", {}, 404],
    ["/v/echo/api/echoes", {}, 404],
  ]) {
    const res = await fetch(broker.url + path, { ...init, headers: { origin: APP } });
    assert.equal(res.status, status, `${init.method || "GET"} ${path}`);
    await res.text();
  }
  assert.equal(echoed.length, n, "nothing refused reached a vendor");
  const pre = await get("/v/crmcom/api/contacts/contact_information/show",
    { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "content-type" }, { method: "OPTIONS" });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), APP);
  assert.match(pre.headers.get("access-control-allow-methods"), /POST/);
});
