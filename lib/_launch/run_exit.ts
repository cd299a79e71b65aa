/**
 * How a child ends, from inside it: its exit recorded where a blocked
 * `joinSync` in the parent sees it, a stop its parent asked for, a crash
 * reported on stderr. `runner.ts` sets it up with the child's init data;
 * `run_process.ts` and `run_pool.ts` end the child through it.
 *
 * @module
 */

import {
  type PoolInit,
  type ProcessInit,
  showThrown,
  STATE_CURRENT,
  STATE_ENDING,
} from "./protocol.ts";
import { stopRequested } from "../_common/runtime.ts";
import { StopRequested } from "../_shm/wait.ts";

/** `Deno.exit` as it was before the runner made it record the code. */
const realExit = Deno.exit;

/** This child's init data (set once by {@linkcode setExitInit}). */
let init!: ProcessInit | PoolInit;

/**
 * The exit code of a worker that ended because it was asked to stop
 * (128 + SIGTERM, as a shell reports it). Its parent reports `-15` or
 * `-9` (whichever it asked for) instead.
 */
const STOPPED_CODE = 143;

/**
 * Tells this module which child it ends (the runner, first thing).
 *
 * @param data The child's init data.
 */
export function setExitInit(data: ProcessInit | PoolInit): void {
  init = data;
}

/**
 * Ends this worker because its parent asked it to stop (a "stop" message,
 * or a library wait that saw the stop word and threw `StopRequested` all
 * the way up). The worker ends itself, rather than being ended by
 * `Worker.terminate()`, because in Deno that call returns, and reports
 * the worker gone, at once, even while the thread goes on running
 * synchronous code; a thread's own exit, from its event loop or from the
 * top of its stack, is an end the parent can trust ("exit" then fires
 * after the thread is gone).
 */
export function stopNow(): never {
  // Tells the pool this thread is ending, not stuck (see _pool/engine.ts).
  if (init.kind === "pool") {
    Atomics.store(new Int32Array(init.state), STATE_CURRENT, STATE_ENDING);
  }
  return exit(STOPPED_CODE);
}

/**
 * Records the exit code where a blocked `joinSync` can see it (a
 * process's state slots; a pool worker has none).
 *
 * @param code The exit code.
 */
export function recordExit(code: number): void {
  if (init.kind !== "process") return;
  const state = new Int32Array(init.state);
  if (Atomics.load(state, 0) === 1) return;
  Atomics.store(state, 1, code);
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
}

/**
 * Ends this child with `code`, recorded first.
 *
 * @param code The exit code.
 */
export function exit(code: number): never {
  recordExit(code);
  return realExit(code);
}

/**
 * Ends this child after an error nothing caught: code 1 and the error on
 * stderr, or a stop when the error is one (or a stop was asked for).
 *
 * @param err What was thrown.
 */
export function reportCrash(err: unknown): never {
  // A stop unwound the code (or was thrown from a callback): not a crash.
  if (err instanceof StopRequested || stopRequested()) return stopNow();
  console.error(`Process ${init.name}:\n${formatError(err)}`);
  return exit(1);
}

/**
 * An error as a crash report shows it: its stack, or what was thrown.
 *
 * @param err What was thrown.
 * @returns The text.
 */
export function formatError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `Uncaught ${showThrown(err)}`;
}
