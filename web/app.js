// The demo page's UI. It drives the JS package (createClient, token(),
// authorize, fetch) or the edge broker, and shows what happens: the token
// (shortened), its expiry counting down, each request the core sent and why,
// how the token is attached to the vendor's next call, and errors in plain
// words with their stable code. It never writes a secret into the DOM or the
// console: settings live in input values only, tokens are shown shortened
// unless the user asks, URLs keep parameter names only.

import { createClient } from "../js/index.js";
import { PROVIDERS, PROVIDER_IDS, SECRET_FIELDS, FIELD_LABELS, FIELD_CHOICES } from "./providers.js";
import { observer, maskURL } from "./observe.js";
import { brokerClient } from "./broker.js";
import { plainWords } from "./errors.js";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "for" || k === "role") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
};

const state = {
  env: null,
  provider: "bydesign",
  mode: "direct",
  short: false,
  values: {}, // provider → {field: value}, what the form holds
  client: null, // the JS client or the broker client of the current settings
  token: null,
  source: "", // how the current token was obtained
  renewals: 0,
  revealed: false,
  busy: false,
};

// ---- settings ----

function originOf(u) {
  try {
    return new URL(u).origin;
  } catch {
    return "";
  }
}

/** The base URL on the emulator the page currently points at. */
function rebase(u, target) {
  const o = originOf(u);
  const known = [state.env.emulator, state.env.short, state.env.nocors];
  if (!known.includes(o)) return u; // the user typed their own: leave it
  return target + u.slice(o.length);
}

function demoValues(p) {
  const { provider, ...rest } = state.env.configs[p];
  const v = { ...rest };
  v.base_url = rebase(v.base_url, state.short ? state.env.short : state.env.emulator);
  return v;
}

function currentConfig() {
  return { provider: state.provider, ...state.values[state.provider] };
}

function renderProviders() {
  const list = $("providers");
  list.replaceChildren();
  for (const id of PROVIDER_IDS) {
    const p = PROVIDERS[id];
    const input = el("input", { type: "radio", name: "provider", value: id, checked: id === state.provider });
    list.append(el("label", { class: "choice" }, input,
      el("span", {}, el("strong", { text: p.label }), ` — ${p.who}`, el("span", { class: `tag tag-${p.mode}`, text: p.mode === "direct" ? "direct" : "broker" }))));
  }
}

function renderFields() {
  const box = $("field-list");
  box.replaceChildren();
  const broker = state.mode === "broker";
  $("broker-note").hidden = !broker;
  $("restore").hidden = broker;
  if (broker) return;
  const values = state.values[state.provider];
  for (const [name, value] of Object.entries(values)) {
    const id = `f-${name}`;
    const choices = FIELD_CHOICES[name] && FIELD_CHOICES[name][state.provider];
    let input;
    if (choices) {
      input = el("select", { id, name });
      for (const c of choices) input.append(el("option", { value: c, text: c }));
      input.value = value;
    } else {
      const secret = SECRET_FIELDS.has(name);
      input = el("input", {
        id, name,
        type: secret ? "password" : name === "base_url" ? "url" : "text",
        autocomplete: secret ? "off" : "off",
        spellcheck: false,
      });
      input.value = value; // the property, never the attribute: no secret in the DOM
    }
    const label = el("label", { for: id, text: FIELD_LABELS[name] || name });
    if (SECRET_FIELDS.has(name)) label.append(el("span", { class: "hint", text: " · secret" }));
    box.append(el("div", { class: "field" }, label, input));
  }
}

function renderAdvice() {
  const p = PROVIDERS[state.provider];
  const fits = p.mode === state.mode;
  const advice = $("advice");
  advice.replaceChildren(el("span", { class: `fit ${fits ? "fit-yes" : "fit-no"}`, text: fits ? "Suits this provider. " : "Demo only. " }), p.why);
  const wrong = $("fault-wrong");
  wrong.textContent = `Wrong ${FIELD_LABELS[p.wrong.field].toLowerCase()}`;
  const broker = state.mode === "broker";
  $("short-lived").disabled = broker;
  for (const b of $("faults").querySelectorAll("button")) b.disabled = broker;
  $("faults-heading").nextElementSibling.textContent = broker
    ? "Failures are shown in direct mode: the broker keeps its own settings and token."
    : "Each one makes the next token request fail the way real vendors do.";
  if (broker && !state.env.broker) {
    advice.append(el("span", { class: "fit fit-no", text: " No broker is running: start the page with make web." }));
  }
}

function settingsChanged() {
  dropClient();
  renderAdvice();
}

// ---- the client ----

const log = observer({
  onEntry: (e) => logEntry(e),
  context: () => ({ held: Boolean(state.token), stale: tokenState(state.token) !== "fresh" }),
});

function dropClient() {
  const c = state.client;
  state.client = null;
  state.token = null;
  state.revealed = false;
  if (c && c.close) c.close().catch(() => {});
  $("call-result").hidden = true;
  renderToken();
  renderCall();
}

function ensureClient() {
  if (state.client) return state.client;
  if (state.mode === "broker") {
    state.client = brokerClient(state.env.broker, state.provider, { fetch: log.fetch });
  } else {
    state.client = createClient(currentConfig(), {
      fetch: log.fetch,
      // Renewals that fail while a still-valid token is served.
      onError: (err) => showError(err, "The renewal failed; the page keeps the token it has until it expires."),
    });
  }
  return state.client;
}

/**
 * sameToken: the same grant, not renewed. A MoversConnect activation keeps
 * the access token and moves its expiry, so the access token alone does not
 * tell.
 */
function sameToken(a, b) {
  return Boolean(a && b) && a.access_token === b.access_token && a.expires_at === b.expires_at && (a.rev ?? 0) === (b.rev ?? 0);
}

/**
 * adopt shows t as the current token, counting a renewal when it replaces
 * another one.
 */
function adopt(t, why) {
  const before = state.token;
  if (!sameToken(before, t)) {
    if (before) {
      state.renewals++;
      say(`Token renewed at ${clock(Date.now())}.`);
      state.source = state.mode === "broker" ? "renewed by the edge broker" : `renewed (${why})`;
    } else {
      say(state.mode === "broker" ? "Token received from the broker." : "Token received.");
      state.source = state.mode === "broker" ? "from the edge broker" : "from the vendor";
    }
    state.revealed = false;
  }
  state.token = t;
}

async function getToken(why = "asked") {
  if (state.busy) return;
  state.busy = true;
  $("get-token").setAttribute("aria-busy", "true");
  try {
    if (state.mode === "broker" && !state.env.broker) {
      throw Object.assign(new Error("no broker"), { code: "no_broker" });
    }
    const client = ensureClient();
    // A stale token still works: the client may answer with it at once and
    // renew in the background (tick() picks the new one up).
    const t = await client.token();
    if (client !== state.client) return; // the settings changed meanwhile
    hideError();
    adopt(t, why);
  } catch (err) {
    state.token = state.client && state.client.cachedToken ? state.client.cachedToken() || null : null;
    state.revealed = false;
    showError(err);
  } finally {
    state.busy = false;
    $("get-token").removeAttribute("aria-busy");
    renderToken();
    renderCall();
  }
}

// ---- token display ----

function shorten(s) {
  if (typeof s !== "string" || s.length <= 10) return "…";
  return `${s.slice(0, 6)}…`;
}

function tokenState(t, nowMs = Date.now()) {
  if (!t) return "none";
  const s = Math.floor(nowMs / 1000);
  if (t.expires_at != null && s >= t.expires_at) return "expired";
  if (t.refresh_at != null && s >= t.refresh_at) return "stale";
  if (t.refresh_at == null && t.expires_at != null && s >= t.expires_at - 60) return "stale";
  return "fresh";
}

function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 172800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} days ${Math.floor((s % 86400) / 3600)} h`;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function renderToken() {
  const t = state.token;
  $("token").hidden = !t;
  $("forget").disabled = !t && !state.client;
  if (!t) return;
  $("token-value").textContent = state.revealed ? t.access_token : `${shorten(t.access_token)} (${t.access_token.length} characters)`;
  $("reveal").textContent = state.revealed ? "Hide the token" : "Show the full token";
  $("reveal").setAttribute("aria-pressed", String(state.revealed));
  $("token-source").textContent = state.source;
  $("renewals").textContent = String(state.renewals);
  tick();
}

let lastState = "";
let autoRenewAt = 0; // when tick() last asked for a renewal
const AUTO_RENEW_EVERY_MS = 5000;

function tick() {
  // A renewal that finished in the background: the client now holds a
  // fresh token the page has not shown yet.
  if (state.client && state.client.cachedToken && state.token) {
    const c = state.client.cachedToken();
    if (c && !sameToken(c, state.token)) {
      adopt(c, lastState === "expired" ? "it expired" : "it turned stale");
      renderToken();
      renderCall();
      return; // renderToken ticks again
    }
  }
  const t = state.token;
  if (!t) return;
  const now = Date.now();
  const st = tokenState(t, now);
  const badge = $("token-state");
  badge.textContent = st;
  badge.className = `badge badge-${st}`;
  badge.dataset.state = st;
  const s = now / 1000;
  const parts = [];
  if (t.expires_at != null) parts.push(st === "expired" ? "expired" : `expires in ${span(t.expires_at - s)}`);
  if (t.refresh_at != null && st === "fresh") parts.push(`turns stale in ${span(t.refresh_at - s)}`);
  if (t.expires_at == null) parts.push("no expiry given: kept until the vendor refuses it");
  $("countdown").textContent = parts.join(" · ");
  if (st !== lastState) {
    if (st === "stale") say("The token turned stale: it still works, and it is renewed now.");
    if (st === "expired") say("The token expired.");
    lastState = st;
  }
  // Ask once, then again only every few seconds: token() on a stale token
  // may answer at once with that token while the renewal goes on.
  if ((st === "stale" || st === "expired") && $("auto-renew").checked && !state.busy && state.client && now - autoRenewAt >= AUTO_RENEW_EVERY_MS) {
    autoRenewAt = now;
    getToken(st === "stale" ? "it turned stale" : "it expired");
  }
}

// ---- the vendor's call ----

function vendorRequest() {
  const call = PROVIDERS[state.provider].call;
  const init = { method: call.method, headers: { accept: "application/json", ...(call.headers || {}) } };
  if (call.body) init.body = call.body;
  if (state.mode === "broker") return { url: state.client.apiURL(call.path), init };
  return { url: state.values[state.provider].base_url.replace(/\/+$/, "") + call.path, init };
}

/** What must never be shown whole: the token and the config's secrets. */
function secrets() {
  const out = [];
  if (state.token) out.push(state.token.access_token, state.token.refresh_token);
  const v = state.values[state.provider] || {};
  for (const [k, val] of Object.entries(v)) if (SECRET_FIELDS.has(k)) out.push(val);
  if (state.token && state.token.attach && state.token.attach.params) out.push(...Object.values(state.token.attach.params));
  return out.filter((s) => typeof s === "string" && s.length >= 4).sort((a, b) => b.length - a.length);
}

function masked(text) {
  let out = text;
  const tok = state.token && state.token.access_token;
  for (const s of secrets()) {
    for (const form of [s, encodeURIComponent(s)]) out = out.split(form).join(s === tok ? shorten(s) : "•••");
  }
  return out;
}

function describeAttach(a, held) {
  if (!a) return "";
  // held: parameters the broker keeps (DQE's licence): named, never shown.
  const params = a.params ? Object.keys(a.params) : (held || []);
  const extra = params.length ? `, with ${params.join(", ")} beside it` : "";
  switch (a.in) {
    case "header": return `The token goes in the ${a.name} header${extra}.`;
    case "query": return `The token goes in the query parameter ${a.name}${extra}.`;
    case "form": return `The token goes in the form field ${a.name}${extra}.`;
    case "json": return `The token goes in the JSON field ${a.name}${extra}.`;
  }
  return "";
}

async function renderCall() {
  const t = state.token;
  $("make-call").disabled = !t;
  $("call-preview").hidden = !t;
  if (!t) {
    $("attach-words").textContent = "Get a token first: then this shows how it travels on the vendor's API call.";
    return;
  }
  const { url, init } = vendorRequest();
  if (state.mode === "broker") {
    $("attach-words").textContent = `${describeAttach(t.attach, t.held_by_broker)} The page calls the broker, which attaches the token and forwards the call to the vendor's API; only the configured paths pass.`;
    $("call-preview").textContent = `${init.method} ${maskURL(url)}\n(no token, no secret on this request: the broker adds them)`;
    return;
  }
  $("attach-words").textContent = `${describeAttach(t.attach)} client.authorize() built this request; client.fetch() sends it, and on a refused token renews once and retries.`;
  try {
    const req = await state.client.authorize(url, init);
    const lines = [`${req.method} ${masked(req.url)}`];
    req.headers.forEach((v, k) => lines.push(`${k}: ${masked(v)}`));
    if (init.body) lines.push("", masked(await req.text()));
    $("call-preview").textContent = lines.join("\n");
  } catch (err) {
    $("call-preview").textContent = "(the request could not be built)";
    showError(err);
  }
}

async function makeCall() {
  const call = $("make-call");
  call.disabled = true;
  try {
    const { url, init } = vendorRequest();
    const res = state.mode === "broker" ? await state.client.fetch(PROVIDERS[state.provider].call.path, init) : await state.client.fetch(url, init);
    const text = await res.text();
    $("call-result").hidden = false;
    $("call-status").textContent = `HTTP ${res.status}`;
    $("call-status").className = `badge ${res.ok ? "badge-fresh" : "badge-expired"}`;
    $("call-words").textContent = res.ok ? "The vendor accepted the token." : "The vendor refused the call.";
    let body = text.slice(0, 2000);
    try {
      body = JSON.stringify(JSON.parse(text), null, 2).slice(0, 2000);
    } catch {
      // not JSON: shown as it came
    }
    $("call-body").textContent = masked(body);
    // client.fetch may have renewed the token (a refused one): show it.
    if (state.mode === "direct" && state.client.cachedToken) {
      const t = state.client.cachedToken();
      if (t && state.token && !sameToken(t, state.token)) {
        state.renewals++;
        state.source = "renewed (the vendor refused the old one)";
        state.token = t;
        renderToken();
        renderCall();
      }
    }
  } catch (err) {
    $("call-result").hidden = true;
    showError(err);
  } finally {
    call.disabled = !state.token;
  }
}

// ---- errors ----

function showError(err, prefix = "") {
  const w = plainWords(err, state.provider, { mode: state.mode });
  $("error").hidden = false;
  $("error-words").textContent = w.title;
  $("error-code").textContent = w.code;
  $("error-detail").textContent = [prefix, w.detail].filter(Boolean).join(" ");
  $("error").dataset.code = w.code;
}

function hideError() {
  $("error").hidden = true;
  delete $("error").dataset.code;
}

// ---- the log ----

const KIND_WORDS = { grant: "grant", refresh: "refresh", activation: "activation", "cors-check": "CORS check", api: "API call", "broker-token": "broker token" };

function logEntry(e) {
  const list = $("log");
  let li = list.querySelector(`li[data-id="${e.id}"]`);
  const fresh = !li;
  if (!li) {
    li = el("li", { "data-id": String(e.id) });
    list.prepend(li);
    while (list.children.length > 200) list.lastElementChild.remove();
  }
  const retry = e.why.startsWith("retry");
  li.dataset.kind = retry ? "retry" : e.kind;
  let outcome = "…";
  if (e.done) {
    if (e.error === "cors") outcome = "refused by the browser (CORS)";
    else if (e.error) outcome = e.error === "network" ? "no answer" : e.error;
    else if (e.type === "opaque") outcome = "opaque answer: the server is up";
    else if (e.type === "opaqueredirect") outcome = "a redirect: refused";
    else outcome = `HTTP ${e.status}${e.retryAfter ? ` · Retry-After ${e.retryAfter} s` : ""}`;
    outcome += ` · ${e.ms} ms`;
  }
  li.replaceChildren(
    el("span", { class: "log-time", text: clock(e.at) }),
    el("span", { class: `badge kind-${li.dataset.kind}`, text: retry ? `retry · ${KIND_WORDS[e.kind]}` : KIND_WORDS[e.kind] }),
    el("span", { class: "log-req", text: `${e.method} ${e.url}` }),
    el("span", { class: `log-out ${e.done && (e.error || e.status >= 400) ? "bad" : ""}`, text: outcome }),
    el("span", { class: "log-why", text: e.why }),
  );
  if (fresh) $("log-hint").hidden = true;
}

function say(text) {
  $("status").textContent = text;
}

// ---- failures ----

async function fault(kind) {
  hideError();
  const p = PROVIDERS[state.provider];
  if (kind === "wrong") {
    state.values[state.provider][p.wrong.field] = p.wrong.value;
    renderFields();
    settingsChanged();
    say(`The ${FIELD_LABELS[p.wrong.field].toLowerCase()} is now wrong; restore the demo settings to undo.`);
    return getToken();
  }
  if (kind === "nocors") {
    const v = state.values[state.provider];
    v.base_url = rebase(v.base_url, state.env.nocors);
    renderFields();
    settingsChanged();
    say("The base URL now points at a copy of the vendor that answers no CORS; restore the demo settings to undo.");
    return getToken();
  }
  if (kind === "forget") {
    // The emulator forgets every token it issued (as after a password
    // change): the held token is refused, and client.fetch renews it once
    // and retries the call.
    if (!state.token) await getToken();
    const r = await fetch("/demo/reset", { method: "POST" });
    if (!r.ok) return say("The emulator did not reset.");
    say("The vendor forgot every token it issued; the call below meets a refused token.");
    return makeCall();
  }
  const target = originOf(state.values[state.provider].base_url) === state.env.short ? "short" : "emulator";
  const res = await fetch(`/demo/fault?provider=${encodeURIComponent(state.provider)}&kind=${kind}&target=${target}`, { method: "POST" });
  if (!res.ok) {
    say("The emulator did not take the fault.");
    return;
  }
  // A held token is served from the cache: start afresh so the next token
  // request meets the fault.
  dropClient();
  say(kind === "hiccup" ? "The vendor answers the next request with 503." : kind === "down" ? "The vendor answers the next four requests with 503." : "The vendor answers the next request with a 2 MiB body.");
  return getToken();
}

// ---- wiring ----

function wire() {
  $("settings").addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.name === "provider") {
      state.provider = t.value;
      renderFields();
      settingsChanged();
      hideError();
    } else if (t.name === "mode") {
      state.mode = t.value;
      renderFields();
      settingsChanged();
      hideError();
    } else if (t.id === "short-lived") {
      state.short = t.checked;
      for (const p of PROVIDER_IDS) {
        const v = state.values[p];
        v.base_url = rebase(v.base_url, state.short ? state.env.short : state.env.emulator);
      }
      renderFields();
      settingsChanged();
    } else if (t.name && state.values[state.provider] && t.name in state.values[state.provider]) {
      state.values[state.provider][t.name] = t.value;
      const users = PROVIDERS[state.provider].users;
      if (t.name === "user_type" && users) {
        // Keep a login that works: the emulator's demo rep or customer.
        const v = state.values[state.provider];
        if (Object.values(users).includes(v.username)) v.username = users[t.value];
        renderFields();
        $("f-user_type").focus();
      }
      settingsChanged();
    }
  });
  // Typing changes the settings too (change fires only on blur).
  $("field-list").addEventListener("input", (ev) => {
    const t = ev.target;
    if (t.name && state.values[state.provider] && t.name in state.values[state.provider]) {
      state.values[state.provider][t.name] = t.value;
      dropClient();
    }
  });
  $("restore").addEventListener("click", () => {
    state.values[state.provider] = demoValues(state.provider);
    renderFields();
    settingsChanged();
    hideError();
    say("Demo settings restored.");
  });
  $("get-token").addEventListener("click", () => getToken());
  $("forget").addEventListener("click", () => {
    dropClient();
    hideError();
    say("Token forgotten: the next one is a new grant.");
  });
  $("reveal").addEventListener("click", () => {
    state.revealed = !state.revealed;
    renderToken();
  });
  $("make-call").addEventListener("click", makeCall);
  $("clear-log").addEventListener("click", () => {
    $("log").replaceChildren();
    $("log-hint").hidden = false;
  });
  $("faults").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-fault]");
    if (b) fault(b.dataset.fault);
  });
  setInterval(tick, 1000);
}

async function main() {
  const res = await fetch("/demo/env.json");
  if (!res.ok) throw new Error(`env.json: HTTP ${res.status}`);
  state.env = await res.json();
  const q = new URLSearchParams(location.search);
  if (PROVIDER_IDS.includes(q.get("provider"))) state.provider = q.get("provider");
  if (q.get("mode") === "broker" || q.get("mode") === "direct") state.mode = q.get("mode");
  for (const p of PROVIDER_IDS) state.values[p] = demoValues(p);
  $("short-ttl").textContent = `(${state.env.short_lifetime_s} s)`;
  for (const r of document.querySelectorAll('input[name="mode"]')) r.checked = r.value === state.mode;
  renderProviders();
  renderFields();
  renderAdvice();
  renderToken();
  wire();
  document.body.dataset.ready = "true";
}

main().catch(() => {
  $("error").hidden = false;
  $("error-words").textContent = "The demo could not start: /demo/env.json is missing. Start it with make web.";
  $("error-code").textContent = "setup";
});
