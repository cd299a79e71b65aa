/**
 * The identity of the process this code runs in: its name, whether it is
 * a daemon, and who its parent is (`parentProcess()`, re-exported by
 * `process.ts`, as `cpuCount()`). The root program is `MainProcess`; a
 * worker entry overwrites this from what its parent sent.
 *
 * @module
 */

import type { ParentInfo } from "../_launch/protocol.ts";
import { currentKey, isAlive } from "./runtime.ts";
import { threadId } from "node:worker_threads";

/** What `currentProcess()` describes. */
export interface SelfInfo {
  /** This process's name. */
  name: string;
  /** Whether this process is a daemon. */
  daemon: boolean;
  /** The parent, or `null` in the root program. */
  parent: ParentInfo | null;
}

/**
 * Thrown when a child that is still importing a module to find its
 * function (its bootstrapping phase) tries to start a process or pool.
 */
export class BootstrapError extends Error {
  /**
   * Makes the error.
   *
   * @param action What was refused, such as "start process 'P-1'".
   * @param module The module being imported.
   */
  constructor(action: string, module: string) {
    super(
      `Cannot ${action}: this child is still importing ${module} to find its function (a child re-imports the main module, as Python's spawn does), and code there that starts processes would run again in every child, each starting more; start processes and pools only under \`if (import.meta.main)\` in that module`,
    );
    this.name = "BootstrapError";
  }
}

/** The module a child is importing to find its function, if any. */
let bootstrapping: string | null = null;

/**
 * Marks this child as importing `module` (its bootstrapping phase) while
 * `load` runs.
 *
 * @param module The module's URL.
 * @param load The import.
 * @returns What `load` gives.
 */
export async function whileBootstrapping<T>(
  module: string,
  load: () => Promise<T>,
): Promise<T> {
  if (self.parent === null) return await load();
  const outer = bootstrapping;
  bootstrapping = module;
  try {
    return await load();
  } finally {
    bootstrapping = outer;
  }
}

/**
 * Refuses to start a process or pool during a child's bootstrapping
 * phase (Python's spawn raises `RuntimeError` there): without the
 * `if (import.meta.main)` guard, every child would start more.
 *
 * @param action What is refused, for the message.
 * @throws {BootstrapError} While this child imports a module to find
 *   its function.
 */
export function checkNotBootstrapping(action: string): void {
  if (bootstrapping !== null) throw new BootstrapError(action, bootstrapping);
}

/**
 * The key of `Process`'s static method that makes the object standing for
 * this process (`currentProcess()`, and a child's own `Process`).
 */
export const kAsChildSelf: unique symbol = Symbol("asChildSelf");

/** This process's identity (mutated once by the worker entry). */
export const self: SelfInfo = {
  name: "MainProcess",
  daemon: false,
  parent: null,
};

/**
 * What a child needs to know about this process as its parent.
 *
 * @returns The parent info to send.
 */
export function selfAsParent(): ParentInfo {
  return {
    name: self.name,
    pid: Deno.pid,
    ident: threadId,
    daemon: self.daemon,
    key: currentKey(),
  };
}

/** What `parentProcess()` tells about the parent. */
export interface ParentProcess {
  /** The parent's name. */
  readonly name: string;
  /** The parent's OS pid. */
  readonly pid: number;
  /** The parent's thread id (0 for the root program). */
  readonly ident: number;
  /** Whether the parent is a daemon. */
  readonly daemon: boolean;
  /** Whether the parent is still running. */
  isAlive(): boolean;
}

/**
 * The parent of this process, or `null` in the root program.
 *
 * @returns The parent's description.
 *
 * @example Usage
 * ```ts
 * import { parentProcess } from "@seed/multiprocessing";
 * console.log(parentProcess()); // null in the main program
 * ```
 */
export function parentProcess(): ParentProcess | null {
  const p = self.parent;
  if (p === null) return null;
  return {
    name: p.name,
    pid: p.pid,
    ident: p.ident,
    daemon: p.daemon,
    isAlive: () => isAlive(p.key),
  };
}

/**
 * The number of logical CPUs (`navigator.hardwareConcurrency`), the
 * default size of a `Pool`.
 *
 * @returns The CPU count.
 *
 * @example Usage
 * ```ts
 * import { cpuCount } from "@seed/multiprocessing";
 * console.log(cpuCount() >= 1); // true
 * ```
 */
export function cpuCount(): number {
  return navigator.hardwareConcurrency || 1;
}
