// Runs workerd (from npm: the binary ships inside @cloudflare/workerd-linux-64)
// with a generated config: the given modules copied into a temporary
// directory and embedded, text/json bindings, an outbound network that
// allows loopback (workerd's default "public" refuses 127.0.0.1).

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { JS_DIR } from "./helpers.js";

export function workerdBin() {
  const direct = join(JS_DIR, "node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd");
  return existsSync(direct) ? direct : join(JS_DIR, "node_modules", ".bin", "workerd");
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const str = (s) => JSON.stringify(s); // capnp string literals accept JSON's escapes for ASCII

/**
 * @param {{modules: {name: string, from?: string, content?: string, type: "esModule"|"wasm"|"json"|"text"}[],
 *   bindings?: {name: string, text?: string, json?: string}[], compatibilityDate?: string}} spec
 *   the first module is the main one; `name` is its module name (relative
 *   imports resolve against it), `from` a file to copy or `content` its text
 */
export async function startWorkerd(spec) {
  const dir = mkdtempSync(join(tmpdir(), "tokensmith-workerd-"));
  const mods = spec.modules.map((m, i) => {
    const file = `m${i}/${m.name}`;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    if (m.from) copyFileSync(m.from, join(dir, file));
    else writeFileSync(join(dir, file), m.content);
    return `(name = ${str(m.name)}, ${m.type} = embed ${str(file)})`;
  });
  const bindings = (spec.bindings || []).map((b) =>
    b.json !== undefined ? `(name = ${str(b.name)}, json = ${str(b.json)})` : `(name = ${str(b.name)}, text = ${str(b.text)})`);
  const port = await freePort();
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .main),
    (name = "internet", network = (allow = ["public", "local", "private"])),
  ],
  sockets = [(name = "http", address = ${str("127.0.0.1:" + port)}, http = (), service = "main")],
);
const main :Workerd.Worker = (
  modules = [${mods.join(", ")}],
  bindings = [${bindings.join(", ")}],
  compatibilityDate = ${str(spec.compatibilityDate || "2025-06-01")},
  globalOutbound = "internet",
);
`);
  const started = performance.now();
  const proc = spawn(workerdBin(), ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (d) => { log += d; });
  proc.stderr.on("data", (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`workerd exited ${proc.exitCode}: ${log}`);
    try {
      const c = await fetch(url + "/__ready", { method: "HEAD", headers: { origin: "x" } });
      await c.arrayBuffer();
      break;
    } catch {
      if (i > 2400) throw new Error(`workerd did not listen: ${log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    url,
    startMs: performance.now() - started,
    log: () => log,
    stop: () => new Promise((resolve) => {
      const done = () => { rmSync(dir, { recursive: true, force: true }); resolve(); };
      if (proc.exitCode !== null) return done();
      proc.on("exit", done);
      proc.kill("SIGTERM");
    }),
  };
}

/** The package's own modules under their package paths, for a worker to import. */
export function packageModules() {
  return ["index.js", "src/client.js", "src/engine.js", "src/errors.js", "src/http.js", "src/memory-store.js", "src/wasi.js"]
    .map((name) => ({ name, from: join(JS_DIR, name), type: "esModule" }))
    .concat([{ name: "tokensmith.wasm", from: join(JS_DIR, "tokensmith.wasm"), type: "wasm" }]);
}
