/**
 * The one wait driver. A wait loop is written once, as a generator of
 * steps: it does its atomic work between yields, and each yield asks to
 * sleep while a slot of a shared `Int32Array` holds a value, until a
 * deadline. {@linkcode driveSync} runs such a generator blocking the
 * thread (`Atomics.wait`), {@linkcode driveAsync} awaiting
 * (`Atomics.waitAsync`); so the blocking and the async twin of an
 * operation (`get`/`getSync`, `acquire`/`acquireSync` …) share one loop,
 * and a fix to it lands in one place.
 *
 * Both drivers sleep through `wait.ts` (spin, then the futex, in slices
 * that notice a stop request) and hand the generator back whether the
 * sleep ended before its deadline. An error of the sleep itself
 * (`StopRequested`, an abort) is thrown into the generator at
 * its yield, so its `finally` blocks take back what it counted or held,
 * and then out of the driver.
 *
 * @module
 */

import { currentKey } from "../_common/runtime.ts";
import { waitAsync, waitSync } from "./wait.ts";

/** A request, yielded by a wait loop, to sleep while `slot` holds `expected`. */
export interface Wait {
  /** The slot to watch. */
  slot: number;
  /**
   * The slots `slot` is in, when not the driver's own (a condition wait
   * also waits for its lock).
   */
  array?: Int32Array;
  /** The value that means "keep sleeping". */
  expected: number;
  /** When to wake anyway (`performance.now()` ms). */
  deadline: number;
  /**
   * Whether this waits for a lock whose holder's process key is
   * `expected`: {@linkcode driveSync} will not sleep on a lock that its
   * own thread holds (module doc of `ring.ts`).
   */
  lock?: boolean;
}

/**
 * A wait loop: yields waits, gets back whether each ended before its
 * deadline (`false`: the deadline passed), returns its result.
 */
export type Steps<T> = Generator<Wait, T, boolean>;

/**
 * Runs a wait loop to completion, blocking the thread in each wait.
 *
 * @param steps The wait loop.
 * @param i32 The slots it waits on.
 * @param what The action, for the message when it would deadlock.
 * @param throwOnSelf Whether a lock held by this very thread (an
 * unfinished async call) throws; otherwise the wait just times out.
 * @param beforeWait Called before each sleep (a queue's feeder writes
 * what it holds, which a reader in this thread may be waiting for).
 * @returns The wait loop's result.
 * @throws {Error} When the lock it needs is held by an async call in this
 * thread, which can only finish once this thread stops blocking.
 */
export function driveSync<T>(
  steps: Steps<T>,
  i32: Int32Array,
  what = "wait",
  throwOnSelf = true,
  beforeWait?: () => void,
): T {
  let r = steps.next();
  while (!r.done) {
    const w = r.value;
    beforeWait?.();
    if (w.lock === true && w.expected === currentKey()) {
      if (!throwOnSelf) {
        r = steps.return(undefined as T);
        continue;
      }
      r = steps.throw(
        new Error(
          `Cannot ${what} synchronously: an unfinished async call on the same object in this thread holds it (a large item in transit); await that call first`,
        ),
      );
      continue;
    }
    let inTime: boolean;
    try {
      inTime = waitSync(w.array ?? i32, w.slot, w.expected, w.deadline);
    } catch (e) {
      // Let the wait loop give back its counts and locks, then rethrow.
      r = steps.throw(e);
      continue;
    }
    r = steps.next(inTime);
  }
  return r.value;
}

/**
 * Runs a wait loop to completion, awaiting each wait.
 *
 * @param steps The wait loop.
 * @param i32 The slots it waits on.
 * @param signal Stops the waiting (the wait loop cleans up, then the
 * returned promise rejects with the signal's reason).
 * @returns The wait loop's result.
 */
export async function driveAsync<T>(
  steps: Steps<T>,
  i32: Int32Array,
  signal?: AbortSignal,
): Promise<T> {
  let r = steps.next();
  while (!r.done) {
    const w = r.value;
    let inTime: boolean;
    try {
      inTime = await waitAsync(
        w.array ?? i32,
        w.slot,
        w.expected,
        w.deadline,
        signal,
      );
    } catch (e) {
      // Let the wait loop give back its counts and locks, then rethrow.
      r = steps.throw(e);
      continue;
    }
    r = steps.next(inTime);
  }
  return r.value;
}

/**
 * The simplest wait loop: sleeps until `i32[slot]` no longer holds
 * `expected` or the deadline passes. Wakes may be spurious, so it looks
 * again after each.
 *
 * @param i32 The slots.
 * @param slot The slot to watch.
 * @param expected The value that means "keep sleeping".
 * @param deadline A `performance.now()` deadline, or `Infinity`.
 * @returns Whether the slot changed (`false`: the deadline passed first).
 */
export function* waitWhile(
  i32: Int32Array,
  slot: number,
  expected: number,
  deadline: number,
): Steps<boolean> {
  while (Atomics.load(i32, slot) === expected) {
    if (!(yield { slot, expected, deadline, array: i32 })) {
      return Atomics.load(i32, slot) !== expected;
    }
  }
  return true;
}
