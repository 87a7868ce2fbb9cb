# Runs the broker locally with workerd from npm (from js/, after `make build`):
#   TOKENSMITH_CRMCOM="$(cat crmcom.json)" node_modules/.bin/workerd serve examples/edge-broker/config.capnp
# then: curl -H 'Origin: http://localhost:5173' http://127.0.0.1:8788/v/crmcom/token
# The vendor config (with its secrets) comes from the environment, never from this file.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "broker", worker = .broker),
    # Outbound fetch; "local" only for an emulator on loopback (tokensmith emulate).
    (name = "internet", network = (allow = ["public", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8788", http = (), service = "broker")],
);

const broker :Workerd.Worker = (
  # Module names mirror the package layout, so the worker's relative imports resolve.
  modules = [
    (name = "examples/edge-broker/worker.js", esModule = embed "worker.js"),
    (name = "index.js", esModule = embed "../../index.js"),
    (name = "src/client.js", esModule = embed "../../src/client.js"),
    (name = "src/engine.js", esModule = embed "../../src/engine.js"),
    (name = "src/errors.js", esModule = embed "../../src/errors.js"),
    (name = "src/http.js", esModule = embed "../../src/http.js"),
    (name = "src/memory-store.js", esModule = embed "../../src/memory-store.js"),
    (name = "src/wasi.js", esModule = embed "../../src/wasi.js"),
    (name = "tokensmith.wasm", wasm = embed "../../tokensmith.wasm"),
  ],
  bindings = [
    (name = "TOKENSMITH_CRMCOM", fromEnvironment = "TOKENSMITH_CRMCOM"),
    (name = "BROKER", json = "{\"origins\": [\"http://localhost:5173\"], \"vendors\": {\"crmcom\": {\"secret\": \"TOKENSMITH_CRMCOM\", \"api\": \"http://127.0.0.1:8787/crmcom/crmapi/rest/v2\", \"allow\": [{\"methods\": [\"GET\", \"POST\"], \"path\": \"/contacts/contact_information/show\"}]}}}"),
  ],
  compatibilityDate = "2025-06-01",
  globalOutbound = "internet",
);
