/**
 * The entry module of every worker thread (`"worker"` start method): a
 * `Process`'s, or a pool worker's. It hands `workerData` and the thread's
 * message port to the shared runner (`_runner.ts`).
 *
 * It imports `mod.ts` first, so every shareable primitive is registered
 * before arguments are decoded.
 *
 * @module
 */

import "../mod.ts";
import { parentPort, workerData } from "node:worker_threads";
import type { PoolInit, ProcessInit, RunMessage } from "./_protocol.ts";
import { runChild } from "./_runner.ts";

const port = parentPort!;
await runChild(workerData as ProcessInit | PoolInit, {
  postMessage: (message) => port.postMessage(message),
  onMessage: (listener) => port.on("message", (m: RunMessage) => listener(m)),
});
