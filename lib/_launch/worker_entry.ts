/**
 * The entry module of every worker thread (`"worker"` start method): a
 * `Process`'s, or a pool worker's. It hands `workerData` and the thread's
 * message port to the shared runner (`_launch/runner.ts`); a pool worker's run
 * messages come over its own task port (see `_launch/worker_spawn.ts`), which the
 * runner can also read synchronously between batches.
 *
 * It imports only what every worker needs; the runner loads the rest
 * (the process or pool part, the registry of shareable primitives) when
 * the worker needs it, so a pool worker is ready sooner.
 *
 * @module
 */

import {
  parentPort,
  receiveMessageOnPort,
  workerData,
} from "node:worker_threads";
import type { RunMessage, StopMessage } from "./protocol.ts";
import { runChild } from "./runner.ts";
import { stopNow } from "./run_exit.ts";
import type { WorkerData } from "./worker_spawn.ts";

const port = parentPort!;
const init = workerData as WorkerData;
const taskPort = init.taskPort;
let onRun: ((message: RunMessage) => void) | undefined;
// Listened to from the start, by a process too: a stop must end a worker
// whatever it is doing when its event loop next runs.
port.on("message", (m: RunMessage | StopMessage) => {
  if (m.t === "stop") stopNow();
  else onRun?.(m);
});
await runChild(init, {
  startMethod: "worker",
  postMessage: (message) => port.postMessage(message),
  onMessage: (listener) => {
    onRun = listener;
    taskPort?.on("message", (m: RunMessage) => listener(m));
  },
  receiveSync: taskPort === undefined
    ? undefined
    : () => receiveMessageOnPort(taskPort)?.message as RunMessage | undefined,
});
