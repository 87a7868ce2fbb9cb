// Test helpers for Node: the emulator (js/test/emuctl, a real loopback HTTP
// server) and the vector files.

import { spawn, execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { checkVector } from "./vectors-core.js";

export const JS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = join(JS_DIR, "..");
export const WASM = join(JS_DIR, "tokensmith.wasm");
export const PROVIDERS = ["moversconnect", "dqe-idmobile", "bydesign", "crmcom"];

/** Every vector file below testdata/vectors, sorted by name, as the Go loader reads them. */
export function loadVectors() {
  const dir = join(ROOT, "testdata", "vectors");
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json")) out.push(checkVector(JSON.parse(readFileSync(p, "utf8")), p));
    }
  };
  walk(dir);
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

const built = {};
// A Go test tool of js/test/: $TOKENSMITH_<NAME> (make test-js builds them
// into bin/), else built once here.
function goTool(name) {
  const env = process.env["TOKENSMITH_" + name.toUpperCase()];
  if (env && existsSync(env)) return env;
  if (!built[name]) {
    built[name] = join(mkdtempSync(join(tmpdir(), `tokensmith-${name}-`)), name);
    execFileSync("go", ["build", "-o", built[name], `./js/test/${name}`], { cwd: ROOT, stdio: "inherit" });
  }
  return built[name];
}

/** The emuctl binary (js/test/emuctl). */
export function emuctlPath() {
  return goTool("emuctl");
}

/**
 * goReference runs every vector against the native Go core (js/test/vectordump):
 * {providers, secret_fields, counts, failed, transcripts}.
 */
export function goReference() {
  return JSON.parse(execFileSync(goTool("vectordump"), [], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 << 20 }));
}

/** startEmulator runs emuctl on a random loopback port. */
export async function startEmulator(args = []) {
  const proc = spawn(emuctlPath(), args, { stdio: ["pipe", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/READY (\S+)/);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (code) => reject(new Error(`emuctl exited with ${code}`)));
  });
  const ctl = async (method, path, body) => {
    const res = await fetch(url + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`emuctl ${path}: ${res.status}`);
    return res.json();
  };
  const configs = await ctl("GET", "/_ctl/configs");
  return {
    url,
    configs,
    config: (p, set = {}) => ({ ...configs[p], ...set }),
    inject: (p, faults) => ctl("POST", `/_ctl/inject?provider=${p}`, faults),
    count: async (p) => (await ctl("GET", `/_ctl/count?provider=${p}`)).count,
    reset: () => ctl("POST", "/_ctl/reset"),
    legacy: (on) => ctl("POST", `/_ctl/dqe-legacy?on=${on}`),
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.on("exit", resolve);
      proc.stdin.end();
    }),
  };
}

/** Every configured secret of the emulator's configs (what must never leak). */
export function secretsOf(configs) {
  const keys = ["password", "client_secret", "licence", "key", "authentication_code", "pass_code", "jwt"];
  const out = [];
  for (const c of Object.values(configs)) for (const k of keys) if (typeof c[k] === "string" && c[k].length >= 6) out.push(c[k]);
  return out;
}
