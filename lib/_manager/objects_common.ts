/**
 * What the manager's object types share: the queue of waiting calls
 * ({@linkcode Waiters}) and the checks of the arguments they take.
 *
 * @module
 */

import { type LongTimer, setLongTimeout } from "../_common/timer.ts";
import { type Negative, timeoutMs, waitOptions } from "../_common/check.ts";
import type { Session } from "./objects.ts";

// --- Waiting ------------------------------------------------------------

/** A pending wait: granted with a value, or dropped. */
export interface Waiter<T> {
  grant(value: T): void;
  data: unknown;
  session: Session;
}

/** How a wait ended: granted (with a value), or not. */
export type WaitResult<T> = { ok: true; value: T } | { ok: false };

/** A FIFO of pending waits, each with an optional timeout. */
export class Waiters<T> {
  #q: Waiter<T>[] = [];

  get length(): number {
    return this.#q.length;
  }

  /**
   * Waits until granted, timed out (`timeout` seconds; `null` waits
   * forever) or the session ends.
   */
  wait(
    session: Session,
    timeout: number | null,
    data?: unknown,
  ): Promise<WaitResult<T>> {
    if (session.signal.aborted || (timeout !== null && timeout <= 0)) {
      return Promise.resolve({ ok: false });
    }
    return new Promise((resolve) => {
      let timer: LongTimer | undefined;
      const done = (r: WaitResult<T>) => {
        const i = this.#q.indexOf(w);
        if (i >= 0) this.#q.splice(i, 1);
        timer?.clear();
        session.signal.removeEventListener("abort", onAbort);
        resolve(r);
      };
      const onAbort = () => done({ ok: false });
      const w: Waiter<T> = {
        grant: (value) => done({ ok: true, value }),
        data,
        session,
      };
      this.#q.push(w);
      session.signal.addEventListener("abort", onAbort, { once: true });
      if (timeout !== null) {
        timer = setLongTimeout(() => done({ ok: false }), timeout * 1000);
      }
    });
  }

  /** The longest waiting waiter, if any (not removed). */
  first(): Waiter<T> | undefined {
    return this.#q[0];
  }

  /** Grants the first waiter; returns whether there was one. */
  grantFirst(value: T): boolean {
    const w = this.#q[0];
    if (w === undefined) return false;
    w.grant(value);
    return true;
  }

  /** Grants every waiter. */
  grantAll(value: T): void {
    for (const w of [...this.#q]) w.grant(value);
  }
}

// --- Argument checks ----------------------------------------------------

/** `{ block, timeout }` as checked: `timeout` in seconds, `null`: none. */
export interface BlockOptions {
  block: boolean;
  timeout: number | null;
}

/**
 * Checks `{ block, timeout }` as Python's manager objects do. A negative
 * timeout is refused by default, as for a `Queue` (`queue.Queue`) and a
 * `Lock`; a `Semaphore` takes it as "don't wait" (`threading`). A timeout
 * with `block: false` is ignored by a `Queue` and refused by a `Lock` or
 * `Semaphore` ("can't specify a timeout for a non-blocking call").
 */
export function blockOptions(
  x: unknown,
  action: string,
  negative: Negative = "reject",
  lockLike = false,
): BlockOptions {
  const { block } = waitOptions(x, action);
  const o = x as { timeout?: unknown } | undefined | null;
  if (!block) {
    if (lockLike && o?.timeout !== undefined && o?.timeout !== null) {
      throw new TypeError(
        `Cannot ${action}: a timeout cannot be given with { block: false }; drop one of them`,
      );
    }
    return { block, timeout: null };
  }
  return { block, timeout: timeoutArg(o?.timeout, action, negative) };
}

/** Seconds, or `null` for no limit (see {@linkcode timeoutMs}). */
export function timeoutArg(
  t: unknown,
  action: string,
  negative: Negative = "reject",
): number | null {
  const ms = timeoutMs(t, action, negative);
  return ms === Infinity ? null : ms / 1000;
}

/**
 * Checks that `x` is an integer.
 *
 * @param x The argument.
 * @param what Its name, for the error message.
 * @param action What is being done, for the error message.
 * @returns `x`.
 * @throws {TypeError} When it is not an integer.
 */
export function intArg(x: unknown, what: string, action: string): number {
  if (typeof x !== "number" || !Number.isInteger(x)) {
    throw new TypeError(
      `Cannot ${action}: ${what} must be an integer, got '${String(x)}'`,
    );
  }
  return x;
}

/** How a value reads in an error message (`5n` for a bigint). */
export function show(x: unknown): string {
  return typeof x === "bigint" ? `${x}n` : String(x);
}
