/**
 * The options of `Pool` and of its calls: the public option types
 * (re-exported by `pool.ts`, where they are documented for users) and
 * their checks, which turn what the caller passed into what the engine
 * runs with.
 *
 * @module
 */

import { checkNotBootstrapping, self } from "../_common/self.ts";
import { describe, integerIn, timeoutMs } from "../_common/check.ts";
import { mainModuleUrl } from "../_common/runtime.ts";
import { checkStartMethod, type StartMethod } from "../_common/start_method.ts";
import { moduleUrl, toFunctionRef } from "../_launch/shipping.ts";
import { checkPermissions } from "../_launch/permissions.ts";
import {
  checkResourceLimits,
  type ResourceLimits,
} from "../_launch/worker_spawn.ts";
import type { EngineOptions } from "./engine.ts";

/**
 * The most workers a pool may have. Python sets no limit, but every
 * worker is a thread with its own V8 heap (tens of MiB) or a `deno`
 * child: far fewer than this already exhaust a machine, and a typo such
 * as `Pool(1e9)` should fail at the call.
 */
const MAX_PROCESSES = 1024;

/**
 * A function a pool can run: exported from the main module or `module`
 * (loaded by reference), self-contained (shipped by source), or
 * `{ module, name }`.
 */
// deno-lint-ignore no-explicit-any
export type PoolFunction<A extends any[] = any[], R = unknown> =
  | ((...args: A) => R)
  | { module: string | URL; name: string };

/** Options of {@linkcode Pool}. */
export interface PoolOptions {
  /**
   * Number of worker processes.
   *
   * @default {cpuCount()}
   */
  processes?: number;
  /** Runs once in every worker before its first task. */
  initializer?: PoolFunction;
  /**
   * Arguments of `initializer`.
   *
   * @default {[]}
   */
  initargs?: readonly unknown[];
  /**
   * Tasks a worker runs before it is replaced by a fresh one (frees
   * memory a task leaks). A chunk of a map counts as one task.
   *
   * @default {no limit}
   */
  maxtasksperchild?: number | null;
  /**
   * How workers are started.
   *
   * @default {"worker"}
   */
  startMethod?: StartMethod;
  /** A module to look functions up in (by identity) before the main module. */
  module?: string | URL;
  /** Memory limits of each worker; a worker over them is replaced. */
  resourceLimits?: ResourceLimits;
  /**
   * Each worker's Deno permissions (`"subprocess"` start method only), in
   * the shape of a Deno `Worker`'s: `"inherit"`, `"none"`, or an object
   * such as `{ read: ["./data"], net: false }` whose omitted fields are
   * `false`. Untrusted tasks then run sandboxed: a denied access rejects
   * the task with a `ProcessError` named `NotCapable`; the pool goes on.
   *
   * @default {"inherit" (the permissions this program was granted in full)}
   */
  permissions?: Deno.PermissionOptions;
}

/** Per-call options of `apply` and `applyAsync`. */
export interface ApplyOptions<R = unknown> {
  /** Called with the result when the task succeeds. */
  callback?: (result: R) => void;
  /** Called with the error when the task fails. */
  errorCallback?: (error: unknown) => void;
  /**
   * Cancels the task: a queued task is dropped; a running one is stopped
   * by replacing its worker. The task rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /**
   * Seconds, counted from the call, after which the task rejects with
   * `TimeoutError` (a running task's worker is replaced).
   */
  timeout?: number;
  /** Objects (ArrayBuffers, ports) moved to the worker, not copied. */
  transfer?: Transferable[];
}

/** Options of the map family (the third parameter, or a `chunksize`). */
export interface MapOptions {
  /**
   * Items sent to a worker per task.
   *
   * @default {map: ceil(items / (4 × processes)); imap: 1}
   */
  chunksize?: number;
  /** Cancels every task of the call (see {@linkcode ApplyOptions.signal}). */
  signal?: AbortSignal;
  /** Seconds, counted from the call, for each of its tasks. */
  timeout?: number;
  /**
   * Called as items finish, with how many are done out of how many.
   * `total` is `undefined` while it is not known: an `imap` over an
   * iterator that has not ended yet.
   */
  onProgress?: (done: number, total: number | undefined) => void;
  /**
   * Draws a progress bar on stderr: `true`, or a label to start the line
   * with. On a terminal it is one line, redrawn at most ~10 times a second
   * with done/total, percent, rate and ETA, and replaced by a final line
   * when the call ends, fails or is cancelled. When stderr is not a
   * terminal (CI, a pipe), only the final line is written.
   *
   * @default {false}
   */
  progress?: boolean | string;
}

/**
 * Checks a pool's size and options and works out how its workers start.
 *
 * @param processes The number of workers.
 * @param options The pool's options.
 * @returns What the local engine runs with.
 * @throws {RangeError} When `processes` is not a positive integer.
 * @throws {TypeError} When an option is malformed.
 * @throws {Error} When called in a daemon process.
 */
export function poolSettings(
  processes: number,
  options: PoolOptions,
): EngineOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot make a pool: options must be an object, got ${describe(options)}`,
    );
  }
  const size = integerIn(
    processes,
    "processes",
    "make a pool",
    1,
    MAX_PROCESSES,
    " (each worker is a thread or process with its own heap)",
  );
  const max = options.maxtasksperchild ?? null;
  if (max !== null) {
    integerIn(max, "maxtasksperchild", "make a pool", 1);
  }
  checkResourceLimits(options.resourceLimits, "make a pool");
  const startMethod = checkStartMethod(options.startMethod, "make a pool");
  checkPermissions(options.permissions, startMethod, "make a pool");
  checkNotBootstrapping("make a pool");
  if (self.daemon) {
    throw new Error(
      "Cannot make a pool: daemonic processes are not allowed to have children",
    );
  }
  const initializer = options.initializer === undefined
    ? null
    : toFunctionRef(options.initializer, options.module, "initializer");
  return {
    size,
    initializer,
    initargs: [...(options.initargs ?? [])],
    maxTasksPerChild: max,
    resourceLimits: options.resourceLimits,
    startMethod,
    permissions: options.permissions,
    modules: [
      ...(options.module === undefined ? [] : [moduleUrl(options.module)]),
      mainModuleUrl(),
      ...(initializer?.modules ?? []),
    ],
  };
}

/**
 * Checks a map call's options (a `chunksize`, or the options object).
 *
 * @param options What the caller passed.
 * @param what The call, for messages ("map", "imap").
 * @returns The options.
 * @throws {RangeError} For a bad `chunksize` or `timeout`.
 * @throws {TypeError} For a bad `progress`.
 */
export function mapOptions(
  options: number | MapOptions | undefined,
  what: string,
): MapOptions {
  const opts: MapOptions = typeof options === "number"
    ? { chunksize: options }
    : options ?? {};
  if (
    opts.chunksize !== undefined &&
    (!Number.isInteger(opts.chunksize) || opts.chunksize < 1)
  ) {
    throw new RangeError(
      `Cannot ${what}: 'chunksize' must be a positive integer, got ${
        String(opts.chunksize)
      }`,
    );
  }
  timeoutMs(opts.timeout, what, "reject");
  if (
    opts.progress !== undefined && typeof opts.progress !== "boolean" &&
    typeof opts.progress !== "string"
  ) {
    throw new TypeError(
      `Cannot ${what}: 'progress' must be a boolean or a label string, got ${typeof opts
        .progress}`,
    );
  }
  return opts;
}
