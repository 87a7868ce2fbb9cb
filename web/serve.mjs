// `make web`: the demo page, the emulator and the edge broker together on
// loopback, until Ctrl-C.
//
//   node web/serve.mjs [--port 8080] [--no-broker]

import { startStack } from "./stack.mjs";

const args = process.argv.slice(2);
const port = args.includes("--port") ? args[args.indexOf("--port") + 1] : process.env.PORT || "8080";
const broker = !args.includes("--no-broker");

let stack;
try {
  stack = await startStack({ addr: `127.0.0.1:${port}`, broker });
} catch (e) {
  console.error(`make web: ${e.message}`);
  process.exit(1);
}
console.log(`
tokensmith demo: open ${stack.url}/web/

  emulator            ${stack.env.emulator}   (CORS for loopback origins)
  short-lived tokens  ${stack.env.short}   (${stack.env.short_lifetime_s} s: watch a renewal)
  vendor without CORS ${stack.env.nocors}
  edge broker         ${stack.broker || "(not started)"}
  vectors in the page ${stack.url}/web/vectors.html

Stop: Ctrl-C`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
