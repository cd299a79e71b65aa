/**
 * The entry module of a manager's thread (Python's "manager process"):
 * runs a {@linkcode ManagerServer} and nothing else. It imports only the
 * server modules, never user code.
 *
 * Messages from the parent: `{ t: "shutdown" }`. To the parent:
 * `{ t: "ready", address }`, `{ t: "error", name, message }` (could not
 * listen), `{ t: "closed" }`.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { ManagerServer, type ServerOptions } from "./_manager_server.ts";

const port = parentPort!;

// A bug here must not end the whole program (an uncaught error in a
// worker does): log it and keep serving.
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  console.error("Manager server error:", e.error ?? e.message);
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error("Manager server error:", e.reason);
});

let server: ManagerServer | undefined;
try {
  server = new ManagerServer(workerData as ServerOptions);
  port.postMessage({ t: "ready", address: server.address });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  port.postMessage({ t: "error", name: e.name, message: e.message });
}

port.on("message", async (msg: { t?: string }) => {
  if (msg?.t !== "shutdown") return;
  await server?.close();
  port.postMessage({ t: "closed" });
});
