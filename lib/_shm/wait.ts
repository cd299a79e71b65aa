/**
 * Waiting on a shared `Int32Array` slot: spin briefly, then sleep on the
 * futex. On these machines a futex wake costs 10–60 µs while a hand-off
 * seen by a spinning thread costs well under 1 µs, so a short spin catches
 * the common quick hand-off and the futex keeps long waits off the CPU.
 *
 * Both waits return when the slot no longer holds `expected`, when they
 * are woken (which may be spurious: callers re-check their condition in a
 * loop), or when the deadline passes.
 *
 * Both end with {@linkcode StopRequested} once this process is asked to
 * stop (`_common/runtime.ts`). A worker thread blocked in synchronous code never
 * returns to its event loop, and Deno ends a worker only there
 * (`Worker.terminate()` does not interrupt running JavaScript, nor
 * `Atomics.wait`). So in a worker thread a wait sleeps in slices of at
 * most {@linkcode STOP_SLICE_MS} and looks at its stop word between them:
 * a stop request ends any library wait within that time, and the throw
 * unwinds the thread back to its event loop, where its stop takes effect
 * (`_launch/runner.ts`). The root program is never asked to stop: its waits
 * sleep in one piece.
 *
 * @module
 */

import { threadId } from "node:worker_threads";
import { actingFor, stopRequested } from "../_common/runtime.ts";

/**
 * Longest sleep (ms) of a wait in a worker thread between looks at its
 * stop word: a stop ends a wait within this (well inside 50 ms),
 * while a sleeping waiter wakes 100 times a second (10-20 µs each).
 */
const STOP_SLICE_MS = 10;

/** Whether this thread can be asked to stop (it is a worker thread). */
const stoppable = threadId !== 0;

/**
 * Thrown by every library wait of a process whose parent asked it to stop
 * (`terminate()`, `kill()`, a pool task's timeout or signal). It unwinds
 * the process's code back to its event loop, where the process ends; code
 * that catches it and goes on keeps its thread running (and alive, as far
 * as its parent can tell).
 */
export class StopRequested extends Error {
  override name = "StopRequested";
  constructor() {
    super(
      "Cannot wait: this process was asked to stop (terminate(), kill(), or its pool task's timeout or signal); let this error end it",
    );
  }
}

/**
 * Throws {@linkcode StopRequested} when this process was asked to stop.
 * Cheap (one shared-memory read): called before every library wait.
 */
export function checkStop(): void {
  if (stoppable && stopRequested()) throw new StopRequested();
}

/** How many times to re-read the slot before sleeping. */
export const SPIN_LIMIT = 200;

/**
 * Blocks the thread until `i32[index] !== expected`, a wake, or `deadline`.
 * Allowed on Deno's main thread, where it blocks the event loop.
 *
 * @param i32 The shared slots.
 * @param index The slot to watch.
 * @param expected The value that means "keep waiting".
 * @param deadline A `performance.now()` deadline, or `Infinity`.
 * @returns `false` when the deadline passed, else `true`.
 */
export function waitSync(
  i32: Int32Array,
  index: number,
  expected: number,
  deadline = Infinity,
): boolean {
  checkStop();
  for (let i = 0; i < SPIN_LIMIT; i++) {
    if (Atomics.load(i32, index) !== expected) return true;
  }
  if (stoppable) {
    // One slice, then a (spurious) wake: the caller's loop calls again,
    // which looks at the stop word first.
    const left = deadline - performance.now();
    if (left <= 0) return false;
    const r = Atomics.wait(i32, index, expected, Math.min(left, STOP_SLICE_MS));
    checkStop();
    return r !== "timed-out" || performance.now() < deadline;
  }
  if (deadline === Infinity) {
    Atomics.wait(i32, index, expected);
    return true;
  }
  const left = deadline - performance.now();
  if (left <= 0) return false;
  return Atomics.wait(i32, index, expected, left) !== "timed-out" ||
    performance.now() < deadline;
}

/**
 * Waits without blocking the event loop until `i32[index] !== expected`,
 * a wake, `deadline`, or `signal` aborts.
 *
 * `Atomics.waitAsync` does not keep Deno's event loop alive, so a timer is
 * held while the wait is pending; without it a program awaiting only this
 * wait would exit with "top-level await never resolved".
 *
 * @param i32 The shared slots.
 * @param index The slot to watch.
 * @param expected The value that means "keep waiting".
 * @param deadline A `performance.now()` deadline, or `Infinity`.
 * @param signal Stops the wait early (it then rejects with the reason).
 * @returns `false` when the deadline passed, else `true`.
 */
export async function waitAsync(
  i32: Int32Array,
  index: number,
  expected: number,
  deadline = Infinity,
  signal?: AbortSignal,
): Promise<boolean> {
  signal?.throwIfAborted();
  checkStop();
  for (let i = 0; i < SPIN_LIMIT; i++) {
    if (Atomics.load(i32, index) !== expected) return true;
  }
  let left = deadline === Infinity ? undefined : deadline - performance.now();
  if (left !== undefined && left <= 0) return false;
  // In a worker thread, a slice at a time (see the module doc). Waiting
  // here returns the thread to its event loop, where a stop takes effect
  // anyway; the slice keeps a wait from taking anything after the stop.
  if (stoppable) left = Math.min(left ?? STOP_SLICE_MS, STOP_SLICE_MS);
  const res = Atomics.waitAsync(i32, index, expected, left);
  if (!res.async) return res.value !== "timed-out";
  // Keep the event loop alive (see above); the interval is never run. A
  // wait made for a served child that has ended does not (`_common/runtime.ts`).
  const keepAlive = setInterval(() => {}, 1 << 30);
  const child = actingFor();
  if (child !== undefined) {
    if (child.ended) Deno.unrefTimer(keepAlive);
    else child.timers.add(keepAlive);
  }
  try {
    if (signal === undefined) {
      const r = await res.value;
      checkStop();
      return r !== "timed-out" || performance.now() < deadline;
    }
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const r = await Promise.race([res.value, aborted]);
      checkStop();
      return r !== "timed-out" || performance.now() < deadline;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  } finally {
    clearInterval(keepAlive);
    child?.timers.delete(keepAlive);
  }
}
