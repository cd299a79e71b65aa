/**
 * What runs inside every child, whatever carries its messages: a
 * `Process`'s target (`run_process.ts`), or a pool worker's task loop
 * (`run_pool.ts`). The worker entry (`_launch/worker_entry.ts`, a
 * `node:worker_threads` worker) and the child entry
 * (`_launch/child_entry.ts`, a `deno` OS process) are thin shells that
 * hand this module their init data and a {@linkcode RunnerPort}.
 *
 * The entry hands it the two parts a child may run ({@linkcode ChildParts}),
 * so that each entry decides what it loads up front: a worker thread's
 * entry loads the pool loop with it and the process part only for a
 * process. The user's modules are imported
 * later, as dependencies, so `import.meta.main` is false in them and the
 * main program's guarded code does not run again here.
 *
 * @module
 */

import process from "node:process";
import type {
  PoolInit,
  PoolWorkerMessage,
  ProcessInit,
  TasksMessage,
} from "./protocol.ts";
import { joinRuntime } from "../_common/runtime.ts";
import { self } from "../_common/self.ts";
import {
  setDefaultStartMethod,
  type StartMethod,
} from "../_common/start_method.ts";
import { exit, recordExit, reportCrash, setExitInit } from "./run_exit.ts";

/** How the runner talks to its parent, whatever the transport. */
export interface RunnerPort {
  /**
   * Sends a message to the parent, moving the ArrayBuffers in `transfer`
   * (a transport between processes copies them). Throws (synchronously)
   * when the message cannot be cloned, so the runner can report that
   * instead.
   */
  postMessage(message: PoolWorkerMessage, transfer?: Transferable[]): void;
  /** Calls `listener` with every message the parent sends. */
  onMessage(listener: (message: TasksMessage) => void): void;
  /**
   * Takes the next run message if one is waiting, without a turn of the
   * event loop; absent when the transport cannot.
   */
  receiveSync?: () => TasksMessage | undefined;
  /**
   * How this child was started: the default of its own children, as a
   * Python child's start method is the one that started it.
   */
  startMethod: StartMethod;
}

/** What a child may run: a process's target, or a pool worker's loop. */
export interface ChildParts {
  /** Runs a process's target and exits (`run_process.ts`). */
  runProcess(init: ProcessInit): Promise<void>;
  /** Serves a pool's tasks (`run_pool.ts`). */
  servePool(init: PoolInit, port: RunnerPort): void;
}

/**
 * Runs this child: joins the program tree, installs the crash and exit
 * handlers, then runs the process's target (and exits) or serves pool
 * tasks until the parent ends it.
 *
 * @param init What the parent sent (`workerData`, or the init frame).
 * @param parent The channel to the parent.
 * @param parts What it may run.
 * @returns A promise that settles once a process target finished (the
 *   child then exits) or the pool loop is set up.
 */
export async function runChild(
  init: ProcessInit | PoolInit,
  parent: RunnerPort,
  parts: ChildParts,
): Promise<void> {
  setExitInit(init);
  joinRuntime(init.runtime);
  setDefaultStartMethod(parent.startMethod);
  self.name = init.name;
  self.daemon = init.kind === "pool" ? true : init.daemon;
  self.parent = init.parent;
  try {
    // `Deno.exit(n)` in a target ends only this worker; record n first.
    (Deno as { exit: (code?: number) => never }).exit = (code = 0) =>
      exit(code);
  } catch {
    // Not writable in some Deno builds: the parent's exit event still
    // records the code; only joinSync on a blocked thread would miss it.
  }
  process.on("exit", (code: number) => recordExit(code ?? 0));

  // An uncaught error in a worker would otherwise end the whole program.
  // Here it ends this process only, with code 1, as a crash of a Python
  // child does not take its parent down.
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    reportCrash(event.error ?? event.message);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    reportCrash(event.reason);
  });

  if (init.kind === "process") await parts.runProcess(init);
  else parts.servePool(init, parent);
}
