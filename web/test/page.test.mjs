// The demo page in Debian's chromium, against the emulator on loopback and
// the edge broker in workerd: a token for each provider both ways, a renewal
// on a short-lived token, each failure in plain words with its stable code,
// no secret left in the DOM or the console, the page's labels and focus
// order, and screenshots at 390 px and 1280 px.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launch, artifactDir, startDevserver, PROVIDERS } from "./harness.mjs";
import { startStack } from "../stack.mjs";

const SECRET_KEYS = ["password", "client_secret", "licence", "key", "authentication_code", "pass_code", "jwt"];

let stack;
let browser;
const consoleLines = [];

before(async () => {
  stack = await startStack();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function openPage(query = "", viewport) {
  const page = await browser.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  page.on("console", (m) => consoleLines.push(m.text()));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${stack.url}/web/${query}`);
  await page.waitForSelector("body[data-ready]");
  return page;
}

async function tokenFresh(page) {
  await page.waitForSelector('#token-state[data-state="fresh"]', { timeout: 30000 });
}

async function errorShown(page) {
  await page.waitForSelector("#error:not([hidden])", { timeout: 30000 });
  return {
    words: await page.locator("#error-words").innerText(),
    code: await page.locator("#error-code").innerText(),
    detail: await page.locator("#error-detail").innerText(),
  };
}

async function logKinds(page) {
  return page.$$eval("#log li", (lis) => lis.map((li) => ({ kind: li.dataset.kind, text: li.innerText })).reverse());
}

/** Every secret the emulator's demo configs hold (the page must never print one). */
function demoSecrets() {
  const out = [];
  for (const p of PROVIDERS) for (const k of SECRET_KEYS) if (typeof stack.env.configs[p][k] === "string") out.push(stack.env.configs[p][k]);
  return out;
}

/** What a person or a script can read of the page: its markup (attributes included) and its text. */
async function readable(page) {
  return page.evaluate(() => document.documentElement.outerHTML + "\n" + document.body.innerText);
}

async function assertNoSecrets(page, secrets, what) {
  const text = await readable(page);
  for (const s of secrets) {
    assert.ok(!text.includes(s), `${what}: the page shows a secret (${s.slice(0, 3)}…, ${s.length} characters)`);
    for (const line of consoleLines) assert.ok(!line.includes(s), `${what}: the console shows a secret (${s.slice(0, 3)}…)`);
  }
}

for (const p of PROVIDERS) {
  test(`${p}: a token directly from the page, attached to the vendor's call`, async () => {
    const before = await stack.count(p);
    const page = await openPage(`?provider=${p}&mode=direct`);
    await page.click("#get-token");
    await tokenFresh(page);
    const log = await logKinds(page);
    assert.equal(log[0].kind, "grant", JSON.stringify(log));
    assert.match(log[0].text, /HTTP 200/);
    assert.match(log[0].text, /no token held yet/);
    assert.equal(await stack.count(p), before + 1, "one token request reached the emulator");
    // The attach preview is the request client.authorize() built.
    const preview = await page.locator("#call-preview").innerText();
    assert.match(preview, /^(GET|POST) http:\/\/127\.0\.0\.1:\d+\//);
    await page.click("#make-call");
    await page.waitForSelector("#call-result:not([hidden])");
    assert.equal(await page.locator("#call-status").innerText(), "HTTP 200");
    const calls = (await logKinds(page)).filter((e) => e.kind === "api");
    assert.equal(calls.length, 1);
    await assertNoSecrets(page, demoSecrets(), `${p} direct`);
    await page.close();
  });

  test(`${p}: a token through the edge broker, whose secrets never reach the page`, async () => {
    const before = await stack.count(p);
    const page = await openPage(`?provider=${p}&mode=broker`);
    assert.equal(await page.locator("#field-list input").count(), 0, "no settings in broker mode");
    await page.click("#get-token");
    await tokenFresh(page);
    assert.ok((await stack.count(p)) >= before, "the broker asked the emulator");
    await page.click("#make-call");
    await page.waitForSelector("#call-result:not([hidden])");
    assert.equal(await page.locator("#call-status").innerText(), "HTTP 200");
    // The page talked to the broker only.
    const log = await logKinds(page);
    assert.deepEqual(log.map((e) => e.kind), ["broker-token", "api"], JSON.stringify(log));
    for (const e of log) assert.ok(e.text.includes(stack.broker), `not a broker call: ${e.text}`);
    const secrets = SECRET_KEYS.map((k) => stack.env.configs[p][k]).filter((s) => typeof s === "string");
    await assertNoSecrets(page, secrets, `${p} broker`);
    // And none of them is in the page's memory either: the settings of
    // broker mode are never built.
    const held = await page.evaluate(() => performance.getEntriesByType("resource").map((r) => r.name).join("\n"));
    for (const s of secrets) assert.ok(!held.includes(s), "a secret in a URL the page fetched");
    await page.close();
  });
}

test("a short-lived token is renewed when it turns stale (ByDesign: refresh)", async () => {
  const page = await openPage("?provider=bydesign&mode=direct");
  await page.check("#short-lived");
  await page.click("#get-token");
  await tokenFresh(page);
  // 20 s tokens turn stale after 10 s (the leeway is capped at half the
  // life); the page renews then.
  await page.waitForSelector("#renewals:text('1')", { timeout: 40000 });
  const log = await logKinds(page);
  const kinds = log.map((e) => e.kind);
  assert.deepEqual(kinds.slice(0, 2), ["grant", "refresh"], JSON.stringify(log));
  assert.match(log[1].text, /turned stale/);
  assert.match(log[1].text, /HTTP 200/);
  assert.match(await page.locator("#token-source").innerText(), /renewed/);
  await tokenFresh(page);
  await page.close();
});

test("MoversConnect renews a short-lived token by activation", async () => {
  const page = await openPage("?provider=moversconnect&mode=direct");
  await page.check("#short-lived");
  await page.click("#get-token");
  await tokenFresh(page);
  await page.waitForSelector("#renewals:text('1')", { timeout: 40000 });
  const kinds = (await logKinds(page)).map((e) => e.kind);
  assert.deepEqual(kinds.slice(0, 2), ["grant", "activation"]);
  await page.close();
});

test("a wrong password shows the plain-words error and leaves no secret in the DOM or console", async () => {
  const page = await openPage("?provider=bydesign&mode=direct");
  await page.click("#get-token");
  await tokenFresh(page);
  await page.click("#reveal");
  const token = await page.locator("#token-value").innerText();
  assert.ok(token.length > 100, "the full token on request");
  await page.click("#reveal");
  await page.click("#fault-wrong");
  const err = await errorShown(page);
  assert.equal(err.words, "Wrong user name or password.");
  assert.equal(err.code, "invalid_grant");
  assert.ok(await page.locator("#token").isHidden(), "the old token is gone with its settings");
  assert.ok(await page.locator("#call-result").isHidden());
  const log = await logKinds(page);
  assert.match(log.at(-1).text, /HTTP 400/);
  assert.equal(log.filter((e) => e.kind === "retry").length, 0, "a refusal is not retried");
  await assertNoSecrets(page, [...demoSecrets(), "Not-The-Passw0rd!", token], "after a wrong password");
  await page.close();
});

test("a wrong licence (DQE) shows its plain-words error", async () => {
  const page = await openPage("?provider=dqe-idmobile&mode=direct");
  await page.click("#fault-wrong");
  const err = await errorShown(page);
  assert.equal(err.words, "Wrong licence or client secret.");
  assert.equal(err.code, "invalid_client");
  await assertNoSecrets(page, [...demoSecrets(), "900000"], "after a wrong licence");
  await page.close();
});

test("a vendor hiccup is retried after its Retry-After, and the token arrives", async () => {
  const page = await openPage("?provider=crmcom&mode=direct");
  await page.click('button[data-fault="hiccup"]');
  await tokenFresh(page);
  const log = await logKinds(page);
  assert.deepEqual(log.map((e) => e.kind), ["grant", "retry"], JSON.stringify(log));
  assert.match(log[0].text, /HTTP 503 · Retry-After 1 s/, "Retry-After is readable (exposed by CORS)");
  assert.match(log[1].text, /retry after 1(\.\d)? s/);
  assert.match(log[1].text, /HTTP 200/);
  await page.close();
});

test("a vendor that stays down ends in a plain-words error, not endless retries", async () => {
  const page = await openPage("?provider=bydesign&mode=direct");
  await page.click('button[data-fault="down"]');
  const err = await errorShown(page);
  assert.equal(err.code, "server_error");
  assert.equal(err.words, "The vendor is down (HTTP 503).");
  const log = await logKinds(page);
  assert.equal(log.length, 4, "four attempts, the first included");
  await page.close();
});

test("a vendor without CORS is reported as a CORS refusal at once", async () => {
  const page = await openPage("?provider=moversconnect&mode=direct");
  await page.click('button[data-fault="nocors"]');
  const err = await errorShown(page);
  assert.equal(err.code, "cors");
  assert.match(err.words, /CORS/);
  const log = await logKinds(page);
  assert.deepEqual(log.map((e) => e.kind), ["grant", "cors-check"], JSON.stringify(log));
  assert.match(log[0].text, /refused by the browser \(CORS\)/);
  await page.close();
});

test("the emulator refuses an origin that is not http://localhost or http://127.0.0.1 (the page served from 127.0.0.2)", async () => {
  // Another dev server whose page lives on 127.0.0.2: the browser sends that
  // origin, the emulator (cors.go) answers it no CORS headers.
  const other = await startDevserver({ addr: "127.0.0.2:0" });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${other.url}/web/?provider=crmcom&mode=direct`);
    await page.waitForSelector("body[data-ready]");
    await page.click("#get-token");
    const err = await errorShown(page);
    assert.equal(err.code, "cors");
    assert.equal(await other.count("crmcom"), 0, "the preflight was refused: no token request was sent");
    await page.close();
  } finally {
    await other.stop();
  }
});

test("a body over 1 MiB is refused in plain words", async () => {
  const page = await openPage("?provider=dqe-idmobile&mode=direct");
  await page.click('button[data-fault="oversize"]');
  const err = await errorShown(page);
  assert.equal(err.code, "malformed_response");
  assert.equal(err.words, "The vendor's answer was too large.");
  await page.close();
});

test("a token the vendor refuses is renewed once and the call retried (client.fetch)", async () => {
  const page = await openPage("?provider=bydesign&mode=direct");
  await page.click("#get-token");
  await tokenFresh(page);
  await page.click('button[data-fault="forget"]');
  await page.waitForSelector("#call-result:not([hidden])");
  assert.equal(await page.locator("#call-status").innerText(), "HTTP 200");
  await page.waitForSelector("#renewals:text('1')");
  const log = await logKinds(page);
  // The emulator forgot the refresh token too: refused, then a new sign-in.
  assert.deepEqual(log.map((e) => e.kind), ["grant", "api", "refresh", "grant", "api"], JSON.stringify(log));
  assert.match(log[1].text, /HTTP 401/);
  assert.match(log[2].text, /the vendor's API refused the token \(HTTP 401\): refresh it/);
  assert.match(log[3].text, /sign in again: the refresh was refused \(HTTP 400\)/);
  assert.match(log[4].text, /the same call once more/);
  assert.match(log[4].text, /HTTP 200/);
  await page.close();
});

test("every control has a name a screen reader can use, and the focus order follows the page", async () => {
  const page = await openPage("?provider=bydesign&mode=direct");
  const unnamed = await page.evaluate(() => [...document.querySelectorAll("input, select, button, a")]
    .filter((e) => !e.hidden && e.offsetParent !== null)
    .filter((e) => {
      const label = e.labels && [...e.labels].map((l) => l.textContent).join(" ").trim();
      return !(label || e.getAttribute("aria-label") || (e.tagName !== "INPUT" && e.textContent.trim()));
    })
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  // Tab through a fresh page: each stop shows a focus ring and comes later
  // in the document than the one before (a radio group is one stop), until
  // focus wraps around.
  let prev = null;
  const seen = [];
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const info = await page.evaluate(() => {
      const e = document.activeElement;
      const style = getComputedStyle(e);
      return {
        id: e.id || e.name || e.tagName,
        idx: [...document.querySelectorAll("*")].indexOf(e),
        ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
      };
    });
    if (info.idx < 0 || (prev !== null && info.idx <= prev)) break;
    assert.ok(info.ring, `no visible focus ring on ${info.id}`);
    seen.push(info.id);
    prev = info.idx;
  }
  assert.ok(seen.length >= 12, `too few focus stops: ${seen.join(", ")}`);
  assert.equal(seen[0], "A", `the skip link comes first: ${seen.join(", ")}`);
  for (const [a, b] of [["provider", "mode"], ["mode", "f-password"], ["f-password", "get-token"], ["get-token", "auto-renew"]]) {
    assert.ok(seen.indexOf(a) >= 0 && seen.indexOf(a) < seen.indexOf(b), `${a} before ${b}: ${seen.join(", ")}`);
  }
  await page.close();
});

test("screenshots at 390 px and 1280 px", async () => {
  const dir = artifactDir();
  for (const [w, h] of [[390, 844], [1280, 900]]) {
    const page = await openPage("?provider=bydesign&mode=direct", { width: w, height: h });
    await page.click("#get-token");
    await tokenFresh(page);
    await page.click("#make-call");
    await page.waitForSelector("#call-result:not([hidden])");
    // Nothing sticks out sideways at this width.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than ${w} px`);
    const file = join(dir, `page-${w}.png`);
    await page.screenshot({ path: file, fullPage: true });
    await page.click("#fault-wrong");
    await errorShown(page);
    await page.screenshot({ path: join(dir, `page-${w}-error.png`), fullPage: true });
    await page.close();
  }
  console.log(`screenshots: ${dir}`);
});
