// The page's request observer and error words, in Node: what each request
// is called, why it was sent, and that URLs keep no secret.

import { test } from "node:test";
import assert from "node:assert/strict";
import { maskURL, grantType, kindOf, observer } from "../observe.js";
import { plainWords } from "../errors.js";

test("maskURL keeps origin, path and parameter names only", () => {
  assert.equal(maskURL("http://127.0.0.1:1/dqe/IDMOBILE/?number=%2B336&token=TK123&licence=900042"),
    "http://127.0.0.1:1/dqe/IDMOBILE/?number=…&token=…&licence=…");
  assert.equal(maskURL("http://127.0.0.1:1/bydesign/Acme/token"), "http://127.0.0.1:1/bydesign/Acme/token");
  assert.equal(maskURL("http://user:pw@host/x?a=1"), "http://host/x?a=…");
  assert.equal(maskURL("not a url"), "(an address that is not a URL)");
});

test("grantType reads form, JSON, XML and query bodies", () => {
  assert.equal(grantType("http://x/token", "grant_type=refresh_token&refresh_token=abc"), "refresh_token");
  assert.equal(grantType("http://x/token", '{"grant_type":"Password","username":"u"}'), "Password");
  assert.equal(grantType("http://x/token", '{"grant_type" : "Token"}'), "Token");
  assert.equal(grantType("http://x/token", "<TokenRequest><grant_type>Token</grant_type></TokenRequest>"), "Token");
  assert.equal(grantType("http://x/ACCESS_TOKEN/?client_secret=s&grant_type=client_idmobile&licence=1", undefined), "client_idmobile");
  assert.equal(grantType("http://x/crm/token", '{"authentication_code":"c"}'), "");
});

test("kindOf names each request", () => {
  assert.equal(kindOf("http://x/token", { body: "grant_type=password" }), "grant");
  assert.equal(kindOf("http://x/token", { body: "grant_type=refresh_token" }), "refresh");
  assert.equal(kindOf("http://x/mobiletoken", { body: '{"grant_type":"Token"}' }), "activation");
  assert.equal(kindOf("http://x/token", { method: "HEAD", mode: "no-cors" }), "cors-check");
  assert.equal(kindOf(new Request("http://x/api")), "api");
  assert.equal(kindOf("http://b/v/crmcom/token", { tokensmithKind: "broker-token" }), "broker-token");
});

test("the observer reports a retry after a 503 with its Retry-After, and passes answers through", async () => {
  const answers = [
    new Response("busy", { status: 503, headers: { "retry-after": "2" } }),
    new Response("{}", { status: 200 }),
  ];
  const entries = [];
  const o = observer({ fetch: async () => answers.shift(), onEntry: (e) => entries.push(e), context: () => ({ held: false }) });
  const r1 = await o.fetch("http://x/token?password=hunter2", { method: "POST", body: "grant_type=password&password=hunter2" });
  assert.equal(r1.status, 503);
  assert.equal(await r1.text(), "busy", "the body is left to the caller");
  await o.fetch("http://x/token", { method: "POST", body: "grant_type=password" });
  const done = entries.filter((e) => e.done);
  assert.equal(done.length, 2);
  assert.equal(done[0].retryAfter, "2");
  assert.match(done[0].why, /no token held yet/);
  assert.match(done[1].why, /^retry after \d+(\.\d)? s: the last grant got HTTP 503; the vendor asked for Retry-After: 2 s$/);
  assert.ok(!JSON.stringify(entries).includes("hunter2"), "no secret in an entry");
});

test("plainWords: credentials, outages, CORS and oversized bodies in plain words with their code", () => {
  const w = (err, p = "bydesign") => plainWords(err, p);
  assert.deepEqual([w({ code: "invalid_grant", status: 400 }).title, w({ code: "invalid_grant" }).code], ["Wrong user name or password.", "invalid_grant"]);
  assert.equal(w({ code: "invalid_client" }, "dqe-idmobile").title, "Wrong licence or client secret.");
  assert.equal(w({ code: "invalid_client" }, "crmcom").title, "Wrong application key.");
  assert.equal(w({ code: "server_error", status: 503 }).title, "The vendor is down (HTTP 503).");
  assert.match(w({ code: "cors" }).title, /CORS/);
  assert.equal(w({ code: "malformed_response", message: "body larger than 1 MiB, refused" }).title, "The vendor's answer was too large.");
  assert.equal(w({ code: "config", field: "base_url" }).title, "A setting is wrong: base_url.");
  assert.equal(w({ code: "something_new" }).code, "something_new", "an unknown code still shows");
});
