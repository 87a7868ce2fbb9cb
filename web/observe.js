// The page's window on what the core asks for. The JS client has no step
// observer, so the page injects its own fetch (the client's `fetch` option)
// and watches every request the core sends and how it ended. From the
// request's shape it names the kind (grant, refresh, activation; the JS
// client's CORS check; the vendor API call) and, with what it saw before,
// why it was sent (no token yet, stale token, retry after N s, refresh
// refused). It decides nothing: it only reports.
//
// No secret is recorded: URLs keep their path and their parameter names
// only, bodies and header values are never kept.

/**
 * maskURL keeps an URL's origin, path and query parameter names; every
 * value becomes "…" (DQE puts its token and licence in the query).
 */
export function maskURL(u) {
  let url;
  try {
    url = new URL(String(u));
  } catch {
    return "(an address that is not a URL)";
  }
  const names = [...url.searchParams.keys()];
  return url.origin + url.pathname + (names.length ? "?" + names.map((n) => `${encodeURIComponent(n)}=…`).join("&") : "");
}

/**
 * grantType reads grant_type from a token request, form (a=b&…), JSON
 * ("grant_type":"…"), XML (<grant_type>…</grant_type>) or the query.
 */
export function grantType(url, body) {
  const text = `${String(url)} ${typeof body === "string" ? body : ""}`;
  const m = /grant_type(?:=|"\s*:\s*"|>)([A-Za-z_]+)/.exec(text);
  return m ? m[1] : "";
}

/**
 * kindOf names a request the client sends: "grant", "refresh",
 * "activation" (MoversConnect's grant_type=Token extends a login with its
 * refresh token), "cors-check" (the JS client's no-cors HEAD after a
 * browser's TypeError), "api" (a vendor call through client.fetch or the
 * broker) or "broker-token" (the page asks the broker for a token).
 */
export function kindOf(input, init) {
  // The page's own calls (broker.js) say what they are.
  if (init && typeof init.tokensmithKind === "string") return init.tokensmithKind;
  if (typeof Request !== "undefined" && input instanceof Request) return "api";
  if (init && init.mode === "no-cors") return "cors-check";
  const g = grantType(input, init && init.body);
  if (g === "refresh_token") return "refresh";
  if (g === "Token") return "activation";
  return "grant";
}

function retryable(entry) {
  return entry.error === "network" || entry.status === 429 || entry.status >= 500;
}

/**
 * observer wraps a fetch. Each request becomes an entry passed to onEntry
 * when it starts and again when it ends:
 *   {id, kind, method, url, at, why, status?, retryAfter?, error?, ms?, done}
 * context() tells what the page holds when a token request starts:
 *   {held: boolean, stale: boolean}.
 */
export function observer({ fetch: inner = (...a) => globalThis.fetch(...a), onEntry = () => {}, context = () => ({}) } = {}) {
  let seq = 0;
  let lastToken = null; // the previous token request's entry
  let lastApi = null; // the previous API call's entry
  const fetch = async (input, init) => {
    const kind = kindOf(input, init);
    const req = typeof Request !== "undefined" && input instanceof Request ? input : null;
    const entry = {
      id: ++seq,
      kind,
      method: ((req ? req.method : init && init.method) || "GET").toUpperCase(),
      url: maskURL(req ? req.url : input),
      at: Date.now(),
      why: "",
      done: false,
    };
    const refusedOne = kind === "cors-check" ? lastToken : null;
    if (kind === "cors-check") {
      entry.why = "the browser refused the last answer; a no-cors HEAD (no query, no body) tells a CORS refusal from a vendor that is down";
    } else if (kind === "api") {
      const retry = lastApi && lastApi.done && lastApi.status === 401 && lastToken && lastToken.at > lastApi.at;
      entry.why = init && init.tokensmithKind ? "the vendor's API through the broker, which attaches the token"
        : retry ? "the same call once more, with the renewed token (client.fetch retries once)" : "the vendor's API, with the token attached";
      lastApi = entry;
    } else if (kind === "broker-token") {
      entry.why = "the broker holds the vendor's secrets and answers with a token (its own cache, renewed by its own core)";
    } else {
      const refused = lastApi && lastApi.done && lastApi.status === 401 && (!lastToken || lastApi.at > lastToken.at) ? lastApi : null;
      entry.why = whyOf(kind, lastToken, { ...context(), refused }, entry.at);
      lastToken = entry;
    }
    onEntry({ ...entry });
    const t0 = performance.now();
    try {
      const res = await inner(input, init);
      entry.status = res.status;
      entry.type = res.type;
      const ra = res.type === "basic" || res.type === "cors" || res.type === "default" ? res.headers.get("retry-after") : null;
      if (ra) entry.retryAfter = ra;
      return res;
    } catch (e) {
      entry.error = e && e.name === "AbortError" ? "aborted" : e && e.name === "TimeoutError" ? "timeout" : "network";
      throw e;
    } finally {
      entry.ms = Math.round(performance.now() - t0);
      entry.done = true;
      onEntry({ ...entry });
      // The vendor is up but the browser hid its answer: say so on the
      // request that failed.
      if (refusedOne && entry.type === "opaque" && refusedOne.error === "network") {
        refusedOne.error = "cors";
        onEntry({ ...refusedOne });
      }
    }
  };
  return { fetch };
}

function whyOf(kind, prev, ctx, at) {
  const afterFailure = prev && prev.done && prev.kind === kind && (retryable(prev) || prev.type === "opaque");
  if (afterFailure) {
    const waited = Math.max(0, Math.round((at - (prev.at + (prev.ms || 0))) / 100) / 10);
    const said = prev.retryAfter ? `; the vendor asked for Retry-After: ${prev.retryAfter} s` : "";
    const what = prev.error ? "no answer" : `HTTP ${prev.status}`;
    return `retry after ${waited} s: the last ${kind} got ${what}${said}`;
  }
  if (kind === "grant" && prev && prev.done && prev.kind === "refresh" && prev.status >= 400 && prev.status < 500) {
    return `sign in again: the refresh was refused (HTTP ${prev.status})`;
  }
  if (kind === "grant" && prev && prev.done && prev.kind === "activation" && prev.status >= 400 && prev.status < 500) {
    return `sign in again: the activation was refused (HTTP ${prev.status})`;
  }
  if (ctx.refused) {
    const what = kind === "refresh" ? "refresh it" : kind === "activation" ? "activate it" : "a new grant";
    return `the vendor's API refused the token (HTTP ${ctx.refused.status}): ${what}`;
  }
  if (kind === "refresh") return "the token turned stale: refresh it while it still works";
  if (kind === "activation") return "the token turned stale: MoversConnect extends it with the refresh token (activation)";
  if (!ctx.held) return "no token held yet: sign in (grant)";
  return ctx.stale ? "the token turned stale and this vendor has no refresh: a new grant" : "a new grant";
}
