// The real parts the browser tests and the benchmark drive: Debian's
// chromium through playwright-core (it cannot download browsers here), the
// dev server (web/devserver: the page, the emulator on loopback) and the edge
// broker in workerd (js/examples/edge-broker). Nothing is mocked.

import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = join(WEB_DIR, "..");
export const PROVIDERS = ["moversconnect", "dqe-idmobile", "bydesign", "crmcom"];

/** The launch flags of issue 10, exactly. */
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export function chromiumPath() {
  const p = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(p)) {
    throw new Error(`${p} is missing: install Debian's chromium (apt-get install -y chromium; make test-web does it as root)`);
  }
  return p;
}

/**
 * launch starts chromium with a fresh user data directory (so no HTTP
 * cache, no compiled-code cache from an earlier run) and returns
 * {context, close}. A persistent context is playwright's way of choosing the
 * directory: --user-data-dir itself may not be passed as a flag.
 */
export async function launch({ viewport = { width: 1280, height: 900 } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tokensmith-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  return {
    context,
    dir,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let built = null;
/** The dev server binary: $TOKENSMITH_DEVSERVER (make builds it), else built once here. */
export function devserverPath() {
  const env = process.env.TOKENSMITH_DEVSERVER;
  if (env && existsSync(env)) return env;
  if (!built) {
    built = join(mkdtempSync(join(tmpdir(), "tokensmith-devserver-")), "devserver");
    execFileSync("go", ["build", "-o", built, "./web/devserver"], { cwd: ROOT, stdio: "inherit" });
  }
  return built;
}

function readyLine(proc, pattern, what) {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 60 s:\n${buf}`)), 60000);
    const onData = (d) => {
      buf += d;
      const m = buf.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", (d) => { buf += d; });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${buf}`));
    });
  });
}

/**
 * startDevserver runs the dev server on a free loopback port. With
 * broker: a URL, the page is told where the broker is.
 */
export async function startDevserver({ root = process.env.TOKENSMITH_WEB_ROOT || ROOT, broker = "", shortLifetime = "20s", addr = "127.0.0.1:0" } = {}) {
  const args = ["--addr", addr, "--root", root, "--short-lifetime", shortLifetime, "--exit-on-stdin-close"];
  if (broker) args.push("--broker", broker);
  const proc = spawn(devserverPath(), args, { stdio: ["pipe", "pipe", "pipe"] });
  const m = await readyLine(proc, /READY (\S+)/, "the dev server");
  const url = m[1];
  const env = await (await fetch(`${url}/demo/env.json`)).json();
  return {
    url,
    env,
    proc,
    async fault(provider, kind, target = "emulator") {
      const r = await fetch(`${url}/demo/fault?provider=${provider}&kind=${kind}&target=${target}`, { method: "POST" });
      if (!r.ok) throw new Error(`fault: HTTP ${r.status}`);
    },
    async count(provider, target = "emulator") {
      return (await (await fetch(`${url}/demo/count?provider=${provider}&target=${target}`)).json()).count;
    },
    async reset() {
      await fetch(`${url}/demo/reset`, { method: "POST" });
    },
    stop: () => stopProc(proc),
  };
}

function stopProc(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.on("exit", () => resolve());
    try {
      proc.stdin.end();
    } catch {
      // already closed
    }
    proc.kill("SIGTERM");
  });
}

/** A folder for test artifacts (screenshots), made fresh. */
export function artifactDir() {
  const dir = process.env.TOKENSMITH_WEB_ARTIFACTS || join(WEB_DIR, "test", "artifacts");
  mkdirSync(dir, { recursive: true });
  return dir;
}
