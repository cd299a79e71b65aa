/**
 * Start methods and contexts, as Python's `get_context()` /
 * `set_start_method()`.
 *
 * @module
 */

import { Pool, type PoolOptions } from "./pool.ts";
import { Process, type ProcessOptions } from "./process.ts";
import {
  checkStartMethod,
  defaultStartMethod,
  setDefaultStartMethod,
  type StartMethod,
} from "./_common/start_method.ts";

export type { StartMethod } from "./_common/start_method.ts";

/**
 * An object with the same constructors as the module, whose processes
 * and pools use one start method (Python's `get_context(method)`).
 */
export interface Context {
  /** The start method of this context. */
  readonly startMethod: StartMethod;
  /** Makes a `Process` with this context's start method. */
  // deno-lint-ignore no-explicit-any
  readonly Process: new <A extends unknown[] = any[]>(
    options?: ProcessOptions<A>,
  ) => Process<A>;
  /** Makes a `Pool` with this context's start method. */
  readonly Pool: new (
    processes?: number | PoolOptions,
    options?: PoolOptions,
  ) => Pool;
}

let explicitlySet = false;

/**
 * Sets the start method used when none is given, as Python's
 * `set_start_method`. Like Python, it may be set once unless `force`.
 *
 * @param method `"worker"` (threads with their own isolates) or
 *   `"subprocess"` (`deno` OS children).
 * @param options `force: true` changes a method already set.
 * @throws {Error} When the method was already set and `force` is not given.
 * @throws {TypeError} When the method is not known.
 *
 * @example Usage
 * ```ts
 * import { getStartMethod, setStartMethod } from "@seed/multiprocessing";
 * setStartMethod("worker", { force: true });
 * console.log(getStartMethod()); // "worker"
 * ```
 */
export function setStartMethod(
  method: StartMethod,
  options: { force?: boolean } = {},
): void {
  if (explicitlySet && !options.force) {
    throw new Error(
      "Cannot set the start method: it has already been set; pass { force: true } to change it",
    );
  }
  checkStartMethod(method, "set the start method");
  setDefaultStartMethod(method);
  explicitlySet = true;
}

/**
 * The start method used when none is given: the one set with
 * `setStartMethod`; in a child, the method that started it (as in
 * Python); else `"worker"`.
 *
 * @returns The default start method.
 *
 * @example Usage
 * ```ts
 * import { getStartMethod } from "@seed/multiprocessing";
 * console.log(getStartMethod()); // "worker"
 * ```
 */
export function getStartMethod(): StartMethod {
  return defaultStartMethod();
}

/**
 * The start methods this platform supports.
 *
 * @returns The method names.
 *
 * @example Usage
 * ```ts
 * import { getAllStartMethods } from "@seed/multiprocessing";
 * console.log(getAllStartMethods().includes("worker")); // true
 * ```
 */
export function getAllStartMethods(): StartMethod[] {
  return ["worker", "subprocess"];
}

/**
 * A context whose `Process` and `Pool` use `method`.
 *
 * @param method The start method; the default one when omitted.
 * @returns The context.
 * @throws {TypeError} When the method is not known.
 *
 * @example Usage
 * ```ts
 * import { getContext } from "@seed/multiprocessing";
 * const ctx = getContext("worker");
 * const p = new ctx.Process({ target: () => {} });
 * p.start();
 * await p.join();
 * console.log(p.exitCode); // 0
 * ```
 */
export function getContext(method?: StartMethod): Context {
  const startMethod = checkStartMethod(
    method ?? defaultStartMethod(),
    "get a context",
  );
  // Plain functions used with `new`: they return a real Process or Pool
  // (not a subclass, which would be shipped as a Process subclass).
  function ContextProcess(options: ProcessOptions = {}): Process {
    return new Process({ startMethod, ...options });
  }
  function ContextPool(
    processes?: number | PoolOptions,
    options: PoolOptions = {},
  ): Pool {
    if (typeof processes === "object" && processes !== null) {
      return new Pool({ startMethod, ...processes });
    }
    return new Pool(processes, { startMethod, ...options });
  }
  return {
    startMethod,
    Process: ContextProcess as unknown as Context["Process"],
    Pool: ContextPool as unknown as Context["Pool"],
  };
}
