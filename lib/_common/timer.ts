/**
 * Timers for timeouts of any length. `setTimeout` keeps its delay in a
 * signed 32-bit integer: anything over 2³¹−1 ms (about 24.8 days), and
 * `Infinity`, fires at once. Every timeout of this module goes through
 * here, so `timeout: Infinity` means no limit and a huge value waits that
 * long (in chunks of at most 2³¹−1 ms). Also the module's one timeout
 * race ({@linkcode settlesWithin}) and one deadline
 * ({@linkcode deadlineFrom}).
 *
 * @module
 */

import { timeoutMs } from "./check.ts";

/** `setTimeout`'s largest delay, in milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer from {@linkcode setLongTimeout}. */
export interface LongTimer {
  /** Cancels the timer (does nothing once it fired). */
  clear(): void;
  /** Lets the program exit while only this timer is pending. */
  unref(): void;
}

const NO_TIMER: LongTimer = { clear() {}, unref() {} };

/**
 * Calls `fn` once after `ms` milliseconds, however large; never for
 * `Infinity`.
 *
 * @param fn What to call.
 * @param ms The delay (`Infinity`: never).
 * @param chunkMs The longest single `setTimeout` (smaller in tests).
 * @returns The timer, to clear it.
 */
export function setLongTimeout(
  fn: () => void,
  ms: number,
  chunkMs: number = MAX_TIMER_MS,
): LongTimer {
  if (ms === Infinity) return NO_TIMER;
  const end = performance.now() + ms;
  let id: ReturnType<typeof setTimeout> | undefined;
  let unrefed = false;
  const arm = (delay: number) => {
    const t = setTimeout(tick, Math.min(Math.max(delay, 0), chunkMs));
    if (unrefed) Deno.unrefTimer(t);
    id = t;
  };
  const tick = () => {
    const left = end - performance.now();
    // Timers may fire a fraction of a millisecond early by this clock.
    if (left > 1) return arm(left);
    id = undefined;
    fn();
  };
  arm(ms);
  return {
    clear() {
      if (id !== undefined) clearTimeout(id);
      id = undefined;
    },
    unref() {
      unrefed = true;
      if (id !== undefined) Deno.unrefTimer(id);
    },
  };
}

/**
 * Waits for `promise`, at most `ms` milliseconds.
 *
 * @param promise What to wait for (its rejection is passed on).
 * @param ms The limit (`Infinity`: none).
 * @returns `true` when it settled in time, `false` when time ran out.
 */
export async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  if (ms === Infinity) {
    await promise;
    return true;
  }
  let timer = NO_TIMER;
  const expired = new Promise<boolean>((resolve) => {
    timer = setLongTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    timer.clear();
  }
}

/**
 * Converts a Python-style timeout in seconds to an absolute deadline in
 * `performance.now()` milliseconds (`Infinity` for none). A negative
 * timeout means "don't wait", as in Python's `multiprocessing` waits.
 *
 * @param timeout Seconds, or `undefined`/`null` for no limit.
 * @param what The action, for the error message.
 * @returns The deadline.
 * @throws {TypeError} When `timeout` is not a number, or is NaN.
 */
export function deadlineFrom(timeout: unknown, what = "wait"): number {
  return performance.now() + timeoutMs(timeout, what);
}
