/**
 * What a `Process` takes: its options, and the shapes `args` and `kwargs`
 * may have for a given `target` (re-exported by `process.ts`, where the
 * class that checks them is).
 *
 * @module
 */

import type { StartMethod } from "../_common/start_method.ts";

/**
 * The arguments `args` takes for a `target` with parameters `A`: all of
 * them, or all but the last when `kwargs` carries the last one. An array
 * that is not a tuple (`const args = [lock, queue, 5]`) is taken when each
 * element fits some parameter: its length is checked when the process
 * starts, not here.
 *
 * @typeParam A The target's parameter list.
 */
export type ProcessArgs<A extends unknown[]> =
  | (A extends [...infer P, unknown] ? readonly [...A] | readonly [...P]
    : readonly [...A])
  | readonly A[number][];

/**
 * What `kwargs` may be for a `target` with parameters `A`: its last
 * parameter.
 *
 * @typeParam A The target's parameter list.
 */
export type ProcessKwargs<A extends unknown[]> = A extends
  [...unknown[], infer K] ? K : Record<string, unknown>;

/**
 * Options of {@linkcode Process}.
 *
 * @typeParam A The target's parameter list: `args` and `kwargs` are
 * checked against it (inferred from `target`).
 */
// deno-lint-ignore no-explicit-any
export interface ProcessOptions<A extends unknown[] = any[]> {
  /**
   * The function to run: exported from the main module or from `module`
   * (loaded by reference), a self-contained function (shipped by its
   * source), or `{ module, name }`.
   */
  target?: ((...args: A) => unknown) | {
    module: string | URL;
    name: string;
  };
  /**
   * Positional arguments for `target` (structured-cloned; this module's
   * primitives arrive working).
   *
   * @default {[]}
   */
  args?: NoInfer<ProcessArgs<A>>;
  /** Keyword arguments, passed to `target` as a last object argument. */
  kwargs?: NoInfer<ProcessKwargs<A>>;
  /**
   * The process's name.
   *
   * @default {"Process-N"}
   */
  name?: string;
  /**
   * Whether the process is a daemon: it does not keep the program alive
   * and ends when the main module finishes; it may not start children.
   *
   * @default {false (inherited from the creating process)}
   */
  daemon?: boolean;
  /**
   * How the process is started.
   *
   * @default {the context's method, "worker" unless changed}
   */
  startMethod?: StartMethod;
  /** A module to look `target` up in (by identity) before the main module. */
  module?: string | URL;
  /**
   * The child's Deno permissions (`"subprocess"` start method only), in
   * the shape of a Deno `Worker`'s: `"inherit"`, `"none"`, or an object
   * such as `{ read: ["./data"], net: false }` whose omitted fields are
   * `false`. A child cannot get more than this program has. A denied
   * access throws in the child (`NotCapable`).
   *
   * @default {"inherit" (the permissions this program was granted in full)}
   */
  permissions?: Deno.PermissionOptions;
}
