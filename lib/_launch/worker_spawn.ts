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

import { type MessagePort, Worker as NodeWorker } from "node:worker_threads";
import type { PoolInit, ProcessInit } from "./protocol.ts";
import { checkCanStart, threadEntry } from "./entry.ts";
import { describe } from "../_common/check.ts";

const ENTRY = threadEntry(new URL("./worker_entry.ts", import.meta.url));

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

const LIMIT_NAMES: readonly (keyof ResourceLimits)[] = [
  "maxOldGenerationSizeMb",
  "maxYoungGenerationSizeMb",
  "codeRangeSizeMb",
  "stackSizeMb",
];

/**
 * Checks a `resourceLimits` option: known fields only, each a positive
 * finite number of MiB.
 *
 * @param limits The option's value.
 * @param action What is being done, for the message.
 * @throws {TypeError} When it is not an object, has an unknown field or
 *   a value that is not a number.
 * @throws {RangeError} When a value is not positive and finite.
 */
export function checkResourceLimits(limits: unknown, action: string): void {
  if (limits === undefined) return;
  if (limits === null || typeof limits !== "object" || Array.isArray(limits)) {
    throw new TypeError(
      `Cannot ${action}: 'resourceLimits' must be an object, got ${
        describe(limits)
      }`,
    );
  }
  for (const [key, value] of Object.entries(limits)) {
    if (!LIMIT_NAMES.includes(key as keyof ResourceLimits)) {
      throw new TypeError(
        `Cannot ${action}: unknown resource limit '${key}'; use ${
          LIMIT_NAMES.map((n) => `'${n}'`).join(", ")
        }`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot ${action}: resource limit '${key}' must be a number of MiB, got ${
          describe(value)
        }`,
      );
    }
    if (!(value > 0) || !Number.isFinite(value)) {
      throw new RangeError(
        `Cannot ${action}: resource limit '${key}' must be a positive number of MiB, got ${value}`,
      );
    }
  }
}

/** A started worker thread. */
export type WorkerThread = NodeWorker;

/**
 * A pool worker's `workerData`: its init data, plus the port its run
 * messages arrive on. Unlike `parentPort` in Deno, a `MessagePort` can be
 * read synchronously (`receiveMessageOnPort`), so a busy worker picks up
 * its next batch without a turn of its event loop.
 */
export type WorkerData = (ProcessInit | PoolInit) & { taskPort?: MessagePort };

/**
 * Starts a worker running `_launch/worker_entry.ts` with `init` as its data.
 *
 * @param init What the worker runs.
 * @param transfer Ports to transfer with `init`.
 * @param resourceLimits Memory limits for the worker.
 * @param taskPort A pool worker's end of its task channel (transferred).
 * @returns The worker.
 */
export function spawnWorker(
  init: ProcessInit | PoolInit,
  transfer: Transferable[] = [],
  resourceLimits?: ResourceLimits,
  taskPort?: MessagePort,
): WorkerThread {
  checkCanStart(
    "worker",
    `start ${init.kind === "pool" ? "pool worker" : "process"} '${init.name}'`,
  );
  const data: WorkerData = taskPort === undefined
    ? init
    : { ...init, taskPort };
  const list: unknown[] = [...transfer];
  if (taskPort !== undefined) list.push(taskPort);
  return new NodeWorker(ENTRY, {
    workerData: data,
    // deno-lint-ignore no-explicit-any
    transferList: list as any[],
    resourceLimits,
  });
}
