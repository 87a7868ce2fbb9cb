// Type declarations for tokensmith's JS package (the whole public API).

/** A vendor config, the same JSON object as the command line's `--config`. */
export type Config =
  | ({ provider: "moversconnect" } & Record<string, string | number>)
  | ({ provider: "dqe-idmobile" } & Record<string, string | number>)
  | ({ provider: "bydesign" } & Record<string, string | number>)
  | ({ provider: "crmcom" } & Record<string, string | number>);

/** How a token goes on a request: a header, a query/body parameter, a form or a JSON field. */
export interface Attach {
  in: "header" | "query" | "form" | "json";
  name: string;
  value: string;
  params?: Record<string, string>;
}

/** A token in the wire format (times in unix seconds). */
export interface Token {
  provider: string;
  access_token: string;
  token_type?: string;
  refresh_token?: string;
  expires_at: number | null;
  refresh_at: number | null;
  refresh_expires_at?: number | null;
  issued_at?: number | null;
  received_at?: number | null;
  rev?: number;
  attach: Attach;
  extra?: Record<string, string>;
  learned?: Record<string, string>;
}

/**
 * Where tokens live between calls, processes and instances. `get`/`set` is
 * enough for a store of one's own (the lease is then trivial); a shared store
 * (Web Locks, a Durable Object, Redis) brings `lease`, `commit` and
 * `release` as well (docs/protocol.md, "Adapters for shared stores").
 */
export interface Store {
  /** The stored token (an object or its JSON text), or null/undefined. */
  get(): Promise<Token | string | null | undefined>;
  /** Called with every new or renewed token before it is used. */
  set(token: Token): Promise<void>;
  /** Take the lease for ttlMs and load the stored token (taken or not). owner: the calling client's id. */
  lease?(ttlMs: number, owner: string): Promise<{ acquired: boolean; token: Token | string | null }>;
  /** Store token only if owner still holds the lease, or nobody does and the stored rev is baseRev; then release. */
  commit?(token: Token, baseRev: number, owner: string): Promise<{ ok: boolean; token?: Token | string | null }>;
  /** Give the lease back without storing. */
  release?(owner: string): Promise<void>;
  /** Optional: resolve before untilMs when the stored token changes (followers wake early). */
  wait?(untilMs: number, signal: AbortSignal, owner: string): Promise<void>;
}

/** The core's session options (docs/protocol.md); every key optional. */
export interface SessionOptions {
  seed?: number;
  max_attempts?: number;
  backoff_base_ms?: number;
  backoff_cap_ms?: number;
  budget_ms?: number;
  timeout_ms?: number;
  hold_off_ms?: number;
  lease_poll_ms?: number;
  /** never renew without the store's lease: an unreachable store fails the call */
  store_required?: boolean;
}

/** Where the core's WebAssembly module comes from. */
export type ModuleSource =
  | WebAssembly.Module
  | URL
  | string
  | ArrayBuffer
  | ArrayBufferView
  | Response
  | Promise<Response>;

export interface ClientOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** The clock, unix milliseconds (default Date.now). */
  now?: () => number;
  /** Where tokens are kept (default: memory of this client only). */
  store?: Store;
  /** Aborting it closes the client. */
  signal?: AbortSignal;
  /** Each vendor request's timeout in ms (default 60000); session option timeout_ms. */
  timeoutMs?: number;
  /** More session options for the core (retry attempts, backoff, budget, hold-off). */
  session?: SessionOptions;
  /**
   * The module: a compiled WebAssembly.Module (workerd, bundlers: `import wasm
   * from "tokensmith/tokensmith.wasm"`), a URL, bytes or a Response. Default:
   * the tokensmith.wasm inside the package.
   */
  module?: ModuleSource;
  /** Called with an error the core reported while a still-valid token was served instead. */
  onError?: (err: TokenError) => void;
}

export interface Client {
  /** The config's provider id. */
  readonly provider: string;
  /** The token, fresh from the cache or obtained/renewed now (one flight for all callers). */
  token(options?: { signal?: AbortSignal }): Promise<Token>;
  /** The cached token if it is fresh, else undefined. Synchronous, never crosses into WebAssembly. */
  cachedToken(): Token | undefined;
  /** A new Request carrying the token the vendor's way. */
  authorize(input: RequestInfo | URL, init?: RequestInit): Promise<Request>;
  /** Calls the vendor's API with the token attached; on a refused token, one renewal and one retry. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Drop the current token (the vendor's API refused it): the next token() renews. */
  invalidate(): void;
  /** Cancel what is in flight and free the session. */
  close(): Promise<void>;
}

/**
 * A store shared by the clients of one realm (a page, an isolate, a process),
 * with the protocol's lease: one client renews, the others adopt its token.
 */
export declare function memoryStore(initial?: Token | null): Required<Omit<Store, "wait">> & Pick<Store, "wait">;

export declare function createClient(config: Config | string, options?: ClientOptions): Client;

/**
 * Every failure: the core's error codes (config, invalid_request, invalid_client,
 * unauthorized_client, invalid_grant, unsupported_grant_type, invalid_token,
 * quota_exceeded, server_error, malformed_response, network, cors, store, usage)
 * and the host's own: closed, aborted, internal.
 */
export declare class TokenError extends Error {
  readonly name: "TokenError";
  readonly code: string;
  /** HTTP status of the vendor's answer, 0 if none. */
  readonly status: number;
  readonly retryable: boolean;
  /** Seconds, the vendor's Retry-After; 0 if none. */
  readonly retryAfter: number;
  /** Unix ms before which the core will not try again; 0 if none. */
  readonly retryAtMs: number;
  /** The config field at fault (code "config"). */
  readonly field?: string;
  toJSON(): object;
}
