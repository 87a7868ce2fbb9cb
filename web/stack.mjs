// The whole demo on loopback: the dev server (the page, the emulators) and
// the edge broker (js/examples/edge-broker/worker.js in workerd, holding the
// emulator's demo configs as its secrets). `make web` runs it through
// serve.mjs; the browser tests and the benchmark start the same stack.

import { join } from "node:path";
import { existsSync, readdirSync } from "node:fs";
import { startDevserver, ROOT } from "./test/harness.mjs";

export const PROVIDERS = ["moversconnect", "dqe-idmobile", "bydesign", "crmcom"];

/** The API paths the broker lets through, one per provider: the emulator's protected resources. */
export const BROKER_ALLOW = {
  moversconnect: [{ methods: ["POST"], path: "/mobileapi/localservicesinquiry" }],
  "dqe-idmobile": [{ methods: ["GET"], path: "/IDMOBILE/" }],
  bydesign: [{ methods: ["GET"], path: "/api/user/profile" }],
  crmcom: [{ methods: ["GET"], path: "/contacts/contact_information/show" }],
};

const secretName = (p) => `TOKENSMITH_${p.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

/**
 * brokerSpec is the workerd spec of the edge broker for a page at
 * pageOrigin against the emulator configs: the vendor configs go in as
 * secret bindings, the routing (origins, API bases, allowed paths) as the
 * non-secret BROKER binding.
 */
export function brokerSpec(jsDir, configs, pageOrigins) {
  const vendors = {};
  const bindings = [];
  for (const p of PROVIDERS) {
    const cfg = configs[p];
    vendors[p] = { secret: secretName(p), api: cfg.base_url, allow: BROKER_ALLOW[p] };
    bindings.push({ name: secretName(p), text: JSON.stringify(cfg) });
  }
  bindings.unshift({ name: "BROKER", json: JSON.stringify({ origins: pageOrigins, vendors }) });
  // The package as the worker imports it: index.js and every src/ module.
  const pkg = ["index.js", ...readdirSync(join(jsDir, "src")).filter((f) => f.endsWith(".js")).sort().map((f) => `src/${f}`)]
    .map((name) => ({ name, from: join(jsDir, name), type: "esModule" }));
  return {
    modules: [
      { name: "examples/edge-broker/worker.js", from: join(jsDir, "examples", "edge-broker", "worker.js"), type: "esModule" },
      ...pkg,
      { name: "tokensmith.wasm", from: join(jsDir, "tokensmith.wasm"), type: "wasm" },
    ],
    bindings,
  };
}

/**
 * startStack starts the dev server and, unless broker is false, the edge
 * broker in workerd, and tells the page where the broker is. It returns the
 * dev server's handle plus {broker, stop}.
 */
export async function startStack({ root = process.env.TOKENSMITH_WEB_ROOT || ROOT, addr, shortLifetime, broker = true } = {}) {
  const ds = await startDevserver({ root, addr, shortLifetime });
  let wd = null;
  try {
    if (broker) {
      const jsDir = join(root, "js");
      if (!existsSync(join(jsDir, "examples", "edge-broker", "worker.js"))) throw new Error(`no edge broker in ${jsDir}/examples/edge-broker`);
      // The JS package's own workerd runner (the binary from npm, a config
      // whose outbound network allows loopback).
      const { startWorkerd } = await import(join(jsDir, "test", "workerd.js"));
      const page = new URL(ds.url);
      const origins = [page.origin, `http://localhost:${page.port}`];
      wd = await startWorkerd(brokerSpec(jsDir, ds.env.configs, origins));
      const r = await fetch(`${ds.url}/demo/broker?url=${encodeURIComponent(wd.url)}`, { method: "POST" });
      if (!r.ok) throw new Error(`the dev server did not take the broker's URL: HTTP ${r.status}`);
      ds.env.broker = wd.url;
    }
  } catch (e) {
    await ds.stop();
    throw e;
  }
  return {
    ...ds,
    broker: wd ? wd.url : "",
    brokerLog: () => (wd ? wd.log() : ""),
    async stop() {
      if (wd) await wd.stop();
      await ds.stop();
    },
  };
}
