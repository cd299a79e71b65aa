/**
 * Starting a worker for a `Process` or a pool.
 *
 * Workers are `node:worker_threads` workers, not web `Worker`s: Deno's
 * web `Worker.terminate()` cannot stop a worker busy in CPU-bound code
 * (the thread keeps spinning and the program never exits), while
 * `node:worker_threads` stops it in about a millisecond, reports an exit
 * code, supports `unref()` (for daemons) and `resourceLimits`.
 *
 * @module
 */

import { Worker as NodeWorker } from "node:worker_threads";
import type { PoolInit, ProcessInit } from "./_protocol.ts";

const ENTRY = new URL("./_worker_entry.ts", import.meta.url);

/** Memory limits of a worker, as `node:worker_threads` takes them. */
export interface ResourceLimits {
  /** Maximum size of the main heap, in MiB. */
  maxOldGenerationSizeMb?: number;
  /** Maximum size of the young generation, in MiB. */
  maxYoungGenerationSizeMb?: number;
  /** Size of the pre-allocated code range, in MiB. */
  codeRangeSizeMb?: number;
  /** Default maximum stack size of the thread, in MiB. */
  stackSizeMb?: number;
}

/** A started worker thread. */
export type WorkerThread = NodeWorker;

/**
 * Starts a worker running `_worker_entry.ts` with `init` as its data.
 *
 * @param init What the worker runs.
 * @param transfer Ports to transfer with `init`.
 * @param resourceLimits Memory limits for the worker.
 * @returns The worker.
 */
export function spawnWorker(
  init: ProcessInit | PoolInit,
  transfer: Transferable[] = [],
  resourceLimits?: ResourceLimits,
): WorkerThread {
  return new NodeWorker(ENTRY, {
    workerData: init,
    // deno-lint-ignore no-explicit-any
    transferList: transfer as any[],
    resourceLimits,
  });
}
