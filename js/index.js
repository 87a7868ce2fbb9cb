// tokensmith for browsers, workers and bundlers. Node resolves ./node.js
// instead (the "node" condition of the exports map), which reads the module
// from disk; everything else is the same code.

import { makeClient } from "./src/client.js";

export { TokenError } from "./src/errors.js";
export { memoryStore } from "./src/memory-store.js";

const runtime = {
  // Without a module source: the .wasm beside this file, by URL. A bundler
  // that rewrites `new URL(…, import.meta.url)` ships it as an asset.
  source: () => new URL("./tokensmith.wasm", import.meta.url),
};

/**
 * createClient returns a token client for one vendor config.
 * @param {object|string} config
 * @param {import("./index.d.ts").ClientOptions} [options]
 * @returns {import("./index.d.ts").Client}
 */
export function createClient(config, options) {
  return makeClient(config, options, runtime);
}
