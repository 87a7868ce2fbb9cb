// TokenError: every failure the package reports. Its fields come from the
// core's wire error (whose message the core has already redacted) or from
// fixed host text; it never carries the original exception (a fetch error can
// quote a URL, and a GET grant has its secret in the query).

const inspect = Symbol.for("nodejs.util.inspect.custom");

export class TokenError extends Error {
  /**
   * @param {{code?: string, status?: number, message?: string, retryable?: boolean,
   *   retry_after?: number, retry_at_ms?: number, field?: string}} e a wire error
   */
  constructor(e = {}) {
    super(String(e.message || e.code || "token error"));
    this.name = "TokenError";
    /** @type {string} */
    this.code = String(e.code || "internal");
    /** @type {number} HTTP status of the vendor's answer, 0 if none */
    this.status = Number(e.status) || 0;
    /** @type {boolean} */
    this.retryable = Boolean(e.retryable);
    /** @type {number} seconds (the vendor's Retry-After), 0 if none */
    this.retryAfter = Number(e.retry_after) || 0;
    /** @type {number} unix ms before which the core will not try again, 0 if none */
    this.retryAtMs = Number(e.retry_at_ms) || 0;
    if (e.field) this.field = String(e.field);
  }

  toJSON() {
    const o = { name: this.name, code: this.code, status: this.status, message: this.message,
      retryable: this.retryable, retryAfter: this.retryAfter, retryAtMs: this.retryAtMs };
    if (this.field) o.field = this.field;
    return o;
  }

  [inspect]() {
    return `TokenError [${this.code}]: ${this.message}` + (this.stack ? this.stack.slice(this.stack.indexOf("\n")) : "");
  }
}
