/**
 * The one place that decides how a process is started: a worker thread
 * (`"worker"`, `_launch/worker_spawn.ts`) or a `deno` OS child
 * (`"subprocess"`, `_launch/child_spawn.ts`). `Process` and the pool
 * engine both call {@linkcode launch} and get the same
 * {@linkcode Launched} back, so neither knows how the other start method
 * works.
 *
 * @module
 */

import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { PoolInit, ProcessInit } from "./protocol.ts";
import type { StartMethod } from "../_common/start_method.ts";
import type { ChildExitWatch } from "./child_wait.ts";
import { type ResourceLimits, spawnWorker } from "./worker_spawn.ts";
import { spawnChild } from "./child_spawn.ts";

/**
 * A started process as its parent drives it: the part of a
 * `node:worker_threads` Worker that a `deno` child (`ChildThread`) also
 * has.
 */
export interface ProcessThread {
  /** The worker's thread id, or the child's pid. */
  readonly threadId: number;
  /** Sends a message (structured clone). */
  // deno-lint-ignore no-explicit-any
  postMessage(message: any, transfer?: any[]): void;
  /** Listens for "message", "error" or "exit". */
  // deno-lint-ignore no-explicit-any
  on(event: string, listener: (...args: any[]) => void): this;
  /** Listens once. */
  // deno-lint-ignore no-explicit-any
  once(event: string, listener: (...args: any[]) => void): this;
  /** Stops it; resolves with the exit code. */
  terminate(): Promise<number>;
  /** Lets it keep the program alive. */
  ref(): void;
  /** Stops it from keeping the program alive. */
  unref(): void;
}

/** How to start a process: {@linkcode launch}'s options. */
export interface LaunchOptions {
  /** Worker thread or `deno` OS child. */
  startMethod: StartMethod;
  /** Ports and buffers `init` holds that move with it (worker threads). */
  transfer?: Transferable[];
  /** Memory limits. */
  resourceLimits?: ResourceLimits;
  /** The child's Deno permissions (`"subprocess"` only; checked before). */
  permissions?: Deno.PermissionOptions;
  /** Module URLs a `"subprocess"` child may import functions from. */
  modules?: string[];
}

/** A started process, whichever way it was started. */
export interface Launched {
  /** Messages, events, `terminate()`, `ref()`/`unref()`. */
  readonly thread: ProcessThread;
  /** Its OS pid: the child's own, or this program's for a worker thread. */
  readonly pid: number;
  /**
   * The parent's end of a pool worker thread's task channel (run messages
   * go there, so the worker can take them without a turn of its event
   * loop); `null` for a `Process` and for a `"subprocess"` child.
   */
  readonly taskPort: MessagePort | null;
  /**
   * How a thread that blocks its event loop sees a `"subprocess"`
   * child's end (`Process.joinSync`); `null` for a worker thread, whose
   * end its state slot records.
   */
  readonly exitWatch: ChildExitWatch | null;
  /**
   * Sends an OS signal: `true` for a `"subprocess"` child; `false` (and
   * nothing sent) for a worker thread, which has no signals and is asked
   * to stop instead.
   */
  signal(signal: Deno.Signal): boolean;
}

/** What a worker thread gives for {@linkcode Launched.signal}. */
const noSignals = (): boolean => false;

/**
 * Starts a process running `init` with the given start method.
 *
 * @param init What it runs: a `Process`'s target or a pool worker's loop.
 * @param options The start method and what it takes.
 * @returns The started process.
 * @throws {TypeError} When an argument cannot be sent (for a child: also
 *   shared memory).
 * @throws {DOMException} `DataCloneError` when an argument cannot be cloned.
 * @throws {Deno.errors.NotCapable} When this program may not start it.
 */
export function launch(
  init: ProcessInit | PoolInit,
  options: LaunchOptions,
): Launched {
  if (options.startMethod === "subprocess") {
    const child = spawnChild(init, {
      permissions: options.permissions,
      resourceLimits: options.resourceLimits,
      modules: options.modules,
    });
    return {
      thread: child,
      pid: child.pid,
      taskPort: null,
      // Now, before the event loop can collect the child.
      exitWatch: child.watchExit(),
      signal: (signal) => {
        child.kill(signal);
        return true;
      },
    };
  }
  const channel = init.kind === "pool" ? new MessageChannel() : null;
  let worker;
  try {
    worker = spawnWorker(
      init,
      options.transfer,
      options.resourceLimits,
      channel?.port2,
    );
  } catch (err) {
    channel?.port1.close();
    throw err;
  }
  return {
    thread: worker,
    pid: Deno.pid,
    taskPort: channel?.port1 ?? null,
    exitWatch: null,
    signal: noSignals,
  };
}
