// `npm pack` gives a tarball that installs in a fresh project (no runtime
// dependencies) and gets a token from the emulator with createClient(config)
// alone: the package finds its own .wasm.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JS_DIR, startEmulator } from "./helpers.js";

test("npm pack → install in a fresh project → a token", async () => {
  const out = mkdtempSync(join(tmpdir(), "tokensmith-pack-"));
  const emu = await startEmulator();
  try {
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: JS_DIR, encoding: "utf8" }));
    const files = packed[0].files.map((f) => f.path);
    for (const f of ["package.json", "index.js", "node.js", "index.d.ts", "tokensmith.wasm", "src/client.js", "src/wasi.js"]) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("node_modules/")), "tests or node_modules packed");
    const tarball = join(out, packed[0].filename);
    const app = join(out, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: app, stdio: "pipe" });
    assert.ok(existsSync(join(app, "node_modules", "tokensmith", "tokensmith.wasm")));
    writeFileSync(join(app, "main.js"), `
import { createClient } from "tokensmith";
const c = createClient(JSON.parse(process.argv[2]));
const t = await c.token();
console.log(JSON.stringify({ provider: t.provider, ok: t.access_token.length > 8 }));
await c.close();
`);
    const got = JSON.parse(execFileSync(process.execPath, ["main.js", JSON.stringify(emu.configs["dqe-idmobile"])], { cwd: app, encoding: "utf8" }));
    assert.deepEqual(got, { provider: "dqe-idmobile", ok: true });
  } finally {
    await emu.stop();
    rmSync(out, { recursive: true, force: true });
  }
});
