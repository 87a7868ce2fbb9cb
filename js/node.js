// tokensmith for Node: the same client as ./index.js, finding its .wasm on
// disk beside this file (Node's fetch cannot read file: URLs).

import { makeClient } from "./src/client.js";

export { TokenError } from "./src/errors.js";
export { memoryStore } from "./src/memory-store.js";

const runtime = {
  source: () => new URL("./tokensmith.wasm", import.meta.url),
  hooks: {
    async readFile(url) {
      const { readFile } = await import("node:fs/promises");
      return readFile(url);
    },
  },
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
