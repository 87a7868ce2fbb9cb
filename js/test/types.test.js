// index.d.ts covers the public API: `tsc --noEmit` on a small consumer
// (types/consumer.ts) that imports "tokensmith" through the package's exports
// map, as an installed package is imported. It also expects two errors
// (@ts-expect-error): declarations that accepted anything would fail it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { JS_DIR } from "./helpers.js";

test("tsc --noEmit accepts a consumer of the declared API", () => {
  const dir = join(JS_DIR, "test", "types");
  const link = join(dir, "node_modules", "tokensmith");
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  rmSync(link, { force: true });
  symlinkSync(JS_DIR, link, "dir");
  const tsc = join(JS_DIR, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  }
});
