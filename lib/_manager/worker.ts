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
import {
  logUncaughtErrors,
  ManagerServer,
  type ServerOptions,
} from "./server.ts";

const port = parentPort!;

logUncaughtErrors();

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
