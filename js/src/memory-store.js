// memoryStore: a store shared by the clients of one realm (one page, one
// worker isolate, one Node process), with the protocol's lease: one client
// renews, the others wait for its commit and adopt the token. Shared
// backends (Web Locks, Durable Objects, Redis) implement the same four
// methods (docs/protocol.md, "Adapters for shared stores").

/** @returns {import("../index.d.ts").Store} */
export function memoryStore(initial = null) {
  let token = initial; // the stored wire token, with its rev
  let holder = null;
  let until = 0;
  let wake = [];
  const notify = () => {
    const w = wake;
    wake = [];
    for (const f of w) f();
  };
  const live = (now) => holder !== null && now < until;
  const copy = (t) => (t == null ? null : structuredClone(t));
  return {
    async get() {
      return copy(token);
    },
    async set(t) {
      token = copy(t);
      notify();
    },
    async lease(ttlMs, owner) {
      const now = Date.now();
      if (!live(now) || holder === owner) {
        holder = owner;
        until = now + ttlMs;
        return { acquired: true, token: copy(token) };
      }
      return { acquired: false, token: copy(token) };
    },
    async commit(t, baseRev, owner) {
      const mine = holder === owner && live(Date.now());
      const free = !live(Date.now()) && (token?.rev ?? 0) === baseRev;
      if (!mine && !free) return { ok: false, token: copy(token) };
      token = copy(t);
      if (mine) holder = null;
      notify();
      return { ok: true };
    },
    async release(owner) {
      if (holder === owner) holder = null;
      notify();
    },
    wait(untilMs, signal) {
      return new Promise((resolve) => {
        const t = setTimeout(resolve, Math.max(0, untilMs - Date.now()));
        wake.push(() => { clearTimeout(t); resolve(); });
        signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
      });
    },
  };
}
