/**
 * The entry module of every worker thread (`"worker"` start method): a
 * `Process`'s, or a pool worker's. It hands `workerData` and the thread's
 * message port to the shared runner (`_launch/runner.ts`); a pool worker's run
 * messages come over its own task port (see `_launch/worker_spawn.ts`), which the
 * runner can also read synchronously between batches.
 *
 * It loads only what a pool worker needs before its first task: the
 * runner and the pool loop. A `Process`'s part (`run_process.ts`, with
 * `process.ts`, `queue.ts` and the primitives) and the registry of
 * shareable primitives load when needed, through specifiers Deno does not
 * follow ahead (a literal `import("…")` would make Deno fetch and parse
 * its whole graph with this entry). `_launch/entry.ts` names them
 * literally for `deno cache`.
 *
 * @module
 */

import {
  parentPort,
  receiveMessageOnPort,
  workerData,
} from "node:worker_threads";
import type { StopMessage, TasksMessage } from "./protocol.ts";
import { runChild } from "./runner.ts";
import { servePool } from "./run_pool.ts";
import { stopNow } from "./run_exit.ts";
import type { WorkerData } from "./worker_spawn.ts";
import type * as RunProcess from "./run_process.ts";

/** Not a literal, so that Deno does not load it with this entry. */
const RUN_PROCESS = new URL("./run_process.ts", import.meta.url).href;

const port = parentPort!;
const init = workerData as WorkerData;
const taskPort = init.taskPort;
let onRun: ((message: TasksMessage) => void) | undefined;
// Listened to from the start, by a process too: a stop must end a worker
// whatever it is doing when its event loop next runs.
port.on("message", (m: TasksMessage | StopMessage) => {
  if (m.t === "stop") stopNow();
  else onRun?.(m);
});
await runChild(init, {
  startMethod: "worker",
  postMessage: (message, transfer) =>
    // deno-lint-ignore no-explicit-any
    port.postMessage(message, transfer as any[] | undefined),
  onMessage: (listener) => {
    onRun = listener;
    taskPort?.on("message", (m: TasksMessage) => listener(m));
  },
  receiveSync: taskPort === undefined
    ? undefined
    : () => receiveMessageOnPort(taskPort)?.message as TasksMessage | undefined,
}, {
  runProcess: async (init) =>
    await (await import(RUN_PROCESS) as typeof RunProcess).runProcess(init),
  servePool,
});
