// The page's side of the edge broker (js/examples/edge-broker/worker.js):
// the broker holds the vendor's config (its secrets) and hands the page
// either a token or a proxied call; the page never sees a credential.
//
//   GET {broker}/v/<provider>/token      {access_token, token_type, expires_at, attach}
//   ANY {broker}/v/<provider>/api/<path> the vendor's API, token attached by the broker

/** An error of the broker, shaped like the package's TokenError. */
export class BrokerError extends Error {
  constructor({ code, status = 0, retryable = false, retryAfter = 0, message }) {
    super(message || code);
    this.name = "BrokerError";
    this.code = code;
    this.status = status;
    this.retryable = retryable;
    this.retryAfter = retryAfter;
  }
}

async function failure(res) {
  let code = "broker_error";
  let retryable = res.status >= 500;
  try {
    const b = await res.json();
    if (b && b.error && typeof b.error.code === "string") code = b.error.code;
    if (b && b.error && typeof b.error.retryable === "boolean") retryable = b.error.retryable;
  } catch {
    // not JSON: keep the status
  }
  const ra = Number(res.headers.get("retry-after") || 0);
  return new BrokerError({ code, status: res.status, retryable, retryAfter: Number.isFinite(ra) ? ra : 0, message: `the broker answered HTTP ${res.status} (${code})` });
}

/**
 * brokerClient talks to the broker at base for one provider. fetch is the
 * page's observed fetch.
 */
export function brokerClient(base, provider, { fetch = (...a) => globalThis.fetch(...a) } = {}) {
  const root = `${base.replace(/\/+$/, "")}/v/${encodeURIComponent(provider)}`;
  const call = async (url, init) => {
    try {
      return await fetch(url, init);
    } catch {
      // A browser says TypeError for both: the broker is down, or it refused
      // this page's origin (no CORS headers).
      throw new BrokerError({ code: "network", retryable: true, message: "the broker could not be reached, or it refused this page's origin" });
    }
  };
  return {
    provider,
    async token() {
      const res = await call(`${root}/token`, { method: "GET", headers: { accept: "application/json" }, tokensmithKind: "broker-token" });
      if (!res.ok) throw await failure(res);
      return res.json();
    },
    /** The vendor call through the broker: path is the API path below the vendor's base. */
    async fetch(path, init = {}) {
      return call(`${root}/api${path}`, { ...init, tokensmithKind: "api" });
    },
    apiURL(path) {
      return `${root}/api${path}`;
    },
  };
}
