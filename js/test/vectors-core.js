// The conformance vector runner, environment-neutral: no node: imports, no
// file access. It takes vector objects (testdata/vectors/*/*.json, parsed)
// and an engine with the ABI v2 session calls (JSON text in, JSON text out:
// src/engine.js's Core), and follows testdata/vectors/README.md exactly as
// the Go runner (internal/vectors) does. Node (vectors.test.js), workerd
// (workerd/) and Chromium (the web stream's page) load this same file.

const PROVIDERS = ["moversconnect", "dqe-idmobile", "bydesign", "crmcom"];

/** The config keys the core declares secret (Go: core.SecretFields(); a test compares). */
export const SECRET_FIELDS = ["password", "client_secret", "licence", "key", "authentication_code", "pass_code", "jwt"];
const SECRET_KEYS = new Set(SECRET_FIELDS);
const TOKEN_KEYS = ["access_token", "refresh_token", "Token", "RefreshToken", "token"];
const STORE_STEPS = ["lease", "commit", "release"];
// A session that keeps asking for store steps is a failure, not a hang.
const MAX_AUTO = 16;

function clip(s) {
  s = typeof s === "string" ? s : JSON.stringify(s);
  return s.length > 200 ? s.slice(0, 200) + "…" : s;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * match reports the first difference between expect and got, or "": every key
 * expect names must be in got with an equal value (objects recursively,
 * arrays element by element, same length); null matches null or absent.
 */
export function match(expect, got, path = "") {
  const at = path || "(root)";
  if (expect === null) {
    return got !== undefined && got !== null ? `${at}: want null or absent, got ${clip(got)}` : "";
  }
  if (got === undefined) return `${at}: missing, want ${clip(expect)}`;
  if (isObject(expect)) {
    if (!isObject(got)) return `${at}: want an object, got ${clip(got)}`;
    for (const k of Object.keys(expect)) {
      const msg = match(expect[k], got[k], path ? `${path}.${k}` : k);
      if (msg) return msg;
    }
    return "";
  }
  if (Array.isArray(expect)) {
    if (!Array.isArray(got) || got.length !== expect.length) return `${at}: want ${clip(expect)}, got ${clip(got)}`;
    for (let i = 0; i < expect.length; i++) {
      const msg = match(expect[i], got[i], `${path}[${i}]`);
      if (msg) return msg;
    }
    return "";
  }
  if (typeof expect !== typeof got || expect !== got) return `${at}: want ${clip(expect)}, got ${clip(got)}`;
  return "";
}

/** responseOf expands "body_pad" (pad the body with spaces to N bytes). */
export function responseOf(r) {
  if (!isObject(r) || !(r.body_pad > 0)) return r;
  const { body_pad: pad, ...rest } = r;
  let body = typeof r.body === "string" ? r.body : "";
  if (pad > body.length) body += " ".repeat(pad - body.length);
  return { status: r.status, headers: r.headers ?? {}, body, ...(rest.error ? { error: rest.error } : {}) };
}

/** secretsOf: what must never appear in an error output. */
export function secretsOf(v) {
  const out = [];
  const add = (s) => {
    if (typeof s === "string" && s.length >= 6) out.push(s);
  };
  for (const [k, val] of Object.entries(v.config || {})) if (SECRET_KEYS.has(k)) add(val);
  for (const st of v.steps || []) {
    const body = st.response && st.response.body;
    if (typeof body === "string") {
      try {
        const b = JSON.parse(body);
        if (isObject(b)) {
          for (const k of TOKEN_KEYS) add(b[k]);
          if (isObject(b.data)) add(b.data.token);
        }
      } catch {
        // not JSON: nothing to collect
      }
    }
    if (isObject(st.token)) for (const k of TOKEN_KEYS) add(st.token[k]);
  }
  return out;
}

function parseOut(out) {
  try {
    return { ok: true, v: JSON.parse(out) };
  } catch {
    return { ok: false };
  }
}

/**
 * runVector drives engine through one vector.
 * @param {object} v a parsed vector
 * @param {object} engine sessionNew(config, options), next(h, now), feed(h, now, input),
 *   restore, token, attach, invalidate, refused, redact (h, json), cancel(h), free(h)
 * @returns {{name: string, provider: string, transcript: string[], failures: string[]}}
 */
export function runVector(v, engine) {
  const res = { name: v.name, provider: v.provider, transcript: [], failures: [] };
  const secrets = secretsOf(v);
  const auto = v.host !== "manual";
  let stored = null; // the auto host's private memory store

  const check = (label, out, expect) => {
    const p = parseOut(out);
    if (!p.ok) {
      res.failures.push(`${label}: output is not JSON: ${String(out).slice(0, 200)}`);
      return null;
    }
    if (expect !== undefined) {
      const msg = match(expect, p.v);
      if (msg) res.failures.push(`${label}: ${msg}\n    got: ${String(out).slice(0, 600)}`);
    }
    if (isObject(p.v) && p.v.error !== undefined) {
      const raw = JSON.stringify(p.v.error);
      for (const s of secrets) {
        if (raw.includes(s)) res.failures.push(`${label}: error output leaks a secret (${s.length} bytes)`);
      }
    }
    return p.v;
  };

  const created = engine.sessionNew(JSON.stringify(v.config), JSON.stringify(v.options ?? {}));
  res.transcript.push(created);
  const c = check("create", created, v.create);
  const h = c && c.session;
  if (!h) {
    if (v.create === undefined) res.failures.push("create failed but the vector expects success");
    return res;
  }
  try {
    (v.steps || []).forEach((st, i) => {
      const label = `step ${i} (${st.op})`;
      const now = typeof st.now === "number" ? st.now : 0; // as the Go runner: absent = 0
      let out;
      switch (st.op) {
        case "next":
          out = engine.next(h, now);
          break;
        case "feed": {
          let input;
          if (st.lease !== undefined) input = { lease: st.lease };
          else if (st.commit !== undefined) input = { commit: st.commit };
          else if (st.release !== undefined) input = { release: st.release };
          else if (st.response !== undefined) input = { response: responseOf(st.response) };
          else {
            res.failures.push(`${label}: feed needs response, lease, commit or release`);
            return;
          }
          out = engine.feed(h, now, JSON.stringify(input));
          break;
        }
        case "restore":
          out = engine.restore(h, JSON.stringify(st.token));
          break;
        case "token":
          out = engine.token(h);
          break;
        case "attach":
          out = engine.attach(h, JSON.stringify(st.request));
          break;
        case "invalidate":
          out = engine.invalidate(h, JSON.stringify({ access_token: typeof st.access_token === "string" ? st.access_token : "" }));
          break;
        case "refused":
          out = engine.refused(h, JSON.stringify(responseOf(st.response)));
          break;
        case "redact":
          out = engine.redact(h, typeof st.text === "string" ? st.text : "");
          break;
        case "cancel":
          out = engine.cancel(h);
          break;
        case "store":
          stored = st.token ?? null;
          return; // no output
        default:
          res.failures.push(`${label}: unknown op`);
          return;
      }
      res.transcript.push(out);
      let got = check(label, out, undefined);
      if (got === null) return;
      // The auto host answers lease, commit and release as the trivial host
      // of docs/protocol.md does, at the op's now; the expectation is matched
      // against the first output that is none of the three.
      for (let n = 0; auto && (st.op === "next" || st.op === "feed"); n++) {
        const kind = isObject(got) ? STORE_STEPS.find((k) => isObject(got[k])) : undefined;
        if (!kind) break;
        if (n === MAX_AUTO) {
          res.failures.push(`${label}: more than ${MAX_AUTO} store steps in a row`);
          break;
        }
        let input;
        if (kind === "lease") input = { lease: { acquired: true, token: stored } };
        else if (kind === "commit") {
          stored = got.commit.token ?? null;
          input = { commit: { ok: true } };
        } else input = { release: {} };
        out = engine.feed(h, now, JSON.stringify(input));
        res.transcript.push(out);
        got = check(label + " auto", out, undefined);
        if (got === null) return;
      }
      if (st.expect !== undefined) {
        const msg = match(st.expect, got);
        if (msg) res.failures.push(`${label}: ${msg}\n    got: ${String(out).slice(0, 600)}`);
      }
    });
  } finally {
    engine.free(h);
  }
  return res;
}

/**
 * runAll runs every vector and counts them per provider. engineFor answers a
 * fresh engine for each vector (session numbers are in the transcript), or a
 * promise of one.
 * @returns {{results: object[], counts: Record<string, number>, passed: Record<string, number>, failed: object[]}}
 */
export async function runAll(vectors, engineFor) {
  const counts = {};
  const passed = {};
  for (const p of PROVIDERS) {
    counts[p] = 0;
    passed[p] = 0;
  }
  const results = [];
  for (const v of vectors) {
    let r;
    try {
      r = runVector(v, await engineFor());
    } catch (e) {
      r = { name: v.name, provider: v.provider, transcript: [], failures: [`threw: ${e && e.name}: ${String(e && e.message).slice(0, 200)}`] };
    }
    counts[v.provider] = (counts[v.provider] ?? 0) + 1;
    if (r.failures.length === 0) passed[v.provider] = (passed[v.provider] ?? 0) + 1;
    results.push(r);
  }
  const transcripts = {};
  for (const r of results) transcripts[r.name] = r.transcript;
  return { results, counts, passed, transcripts, failed: results.filter((r) => r.failures.length > 0) };
}

/**
 * compareTranscripts lists the vectors whose transcript differs, byte for
 * byte, from the reference's (the native Go core's), and those either side lacks.
 */
export function compareTranscripts(mine, reference) {
  const diffs = [];
  for (const name of Object.keys(reference)) {
    const a = mine[name];
    const b = reference[name];
    if (!a) {
      diffs.push(`${name}: not run`);
      continue;
    }
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) {
        diffs.push(`${name}: output ${i} differs\n    got:  ${String(a[i]).slice(0, 300)}\n    want: ${String(b[i]).slice(0, 300)}`);
        break;
      }
    }
  }
  for (const name of Object.keys(mine)) if (!(name in reference)) diffs.push(`${name}: not in the reference run`);
  return diffs;
}

/** countsLine formats counts the way `make test` prints the Go ones. */
export function countsLine(counts) {
  return Object.entries(counts).map(([p, n]) => `${p} ${n}`).join(", ");
}

/** checkVector: the shape the Go loader insists on. */
export function checkVector(v, where) {
  if (!isObject(v) || !v.name || !v.provider || !isObject(v.config) || !Array.isArray(v.steps)) {
    throw new Error(`${where}: a vector needs name, provider, config and steps`);
  }
  if (!v.name.startsWith(v.provider + "/")) throw new Error(`${where}: name ${v.name} must start with the provider id`);
  return v;
}
