// A small consumer of the public API, type-checked by `tsc --noEmit`
// (types.test.js). It is never run.
import { createClient, memoryStore, TokenError, type Client, type Token, type Store, type ClientOptions } from "tokensmith";

const store: Store = {
  async get() { return null; },
  async set(t: Token) { void t.access_token; },
};

const shared: Store = memoryStore();
void shared.lease?.(1000, "me");

const options: ClientOptions = {
  store,
  timeoutMs: 5000,
  now: () => Date.now(),
  fetch: (input, init) => fetch(input, init),
  session: { max_attempts: 2, backoff_base_ms: 100 },
  signal: new AbortController().signal,
  module: new URL("./tokensmith.wasm", import.meta.url),
  onError: (e: TokenError) => console.warn(e.code),
};

export async function use(): Promise<number> {
  const c: Client = createClient({ provider: "crmcom", base_url: "https://crm.example/crmapi/rest/v2", key: "k", authentication_code: "c" }, options);
  const t: Token = await c.token();
  const cached: Token | undefined = c.cachedToken();
  const where: "header" | "query" | "form" | "json" = t.attach.in;
  const req: Request = await c.authorize("https://crm.example/crmapi/rest/v2/contacts", { method: "GET" });
  const res: Response = await c.fetch(req);
  c.invalidate();
  await c.close();
  try {
    await c.token({ signal: AbortSignal.timeout(10) });
  } catch (e) {
    if (e instanceof TokenError) {
      const n: number = e.status + e.retryAfter + e.retryAtMs;
      const r: boolean = e.retryable;
      const code: string = e.code;
      void [n, r, code];
    }
  }
  void [cached, where];
  return res.status + req.url.length;
}

// @ts-expect-error a config needs a provider
createClient({ base_url: "x" });
// @ts-expect-error timeoutMs is a number
createClient({ provider: "bydesign" }, { timeoutMs: "1s" });
