/**
 * `Event`: one flag word in shared memory that waiters sleep on.
 * Re-exported by `lib/synchronize.ts`.
 *
 * @module
 */

import { kShare } from "../_common/transfer.ts";
import { driveAsync, driveSync, waitWhile } from "../_shm/drive.ts";
import { deadlineFrom } from "../_common/timer.ts";
import { firstShareId, kRevive } from "./keys.ts";

/** The flag's slot, and its two values. */
const FLAG = 0;
const CLEAR = 0;
const SET = 1;

/**
 * A flag shared by processes (Python's `multiprocessing.Event`): `wait`
 * blocks until some process calls `set`.
 *
 * @example Usage
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const ready = new mp.Event();
 * console.log(await ready.wait(0.01)); // false (timed out)
 * ready.set();
 * console.log(await ready.wait()); // true
 * ```
 */
export class Event {
  #i32: Int32Array = new Int32Array(new SharedArrayBuffer(4));
  #id: string | undefined;

  /**
   * Makes an event whose flag is clear.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Event().isSet()); // false
   * ```
   */
  constructor() {}

  /**
   * Whether the flag is set.
   *
   * @returns The flag.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * e.set();
   * console.log(e.isSet()); // true
   * ```
   */
  isSet(): boolean {
    return Atomics.load(this.#i32, FLAG) === SET;
  }

  /**
   * Sets the flag and wakes every waiter, in every process.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * e.set();
   * ```
   */
  set(): void {
    Atomics.store(this.#i32, FLAG, SET);
    Atomics.notify(this.#i32, FLAG);
  }

  /**
   * Clears the flag; later waits block until the next `set`.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * e.set();
   * e.clear();
   * console.log(e.isSet()); // false
   * ```
   */
  clear(): void {
    Atomics.store(this.#i32, FLAG, CLEAR);
  }

  /**
   * Waits (without blocking the event loop) until the flag is set.
   *
   * @param timeout The most seconds to wait; no limit when omitted.
   * @returns `true` when the flag is set; `false` when `timeout` passed
   * first (no error is thrown, as in Python).
   * @throws {TypeError} (as a rejection) When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const e = new mp.Event();
   * setTimeout(() => e.set(), 10);
   * console.log(await e.wait(5)); // true
   * ```
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const i32 = this.#i32;
    if (Atomics.load(i32, FLAG) === SET) return true;
    const deadline = deadlineFrom(timeout, "wait for the event");
    // A wake can be spurious, or the flag cleared again before this
    // waiter ran: the loop looks at the flag each time.
    return await driveAsync(waitWhile(i32, FLAG, CLEAR, deadline), i32);
  }

  /**
   * Blocking twin of {@linkcode Event.wait} (blocks the event loop on the
   * main thread).
   *
   * @param timeout The most seconds to wait; no limit when omitted.
   * @returns `true` when the flag is set; `false` when `timeout` passed
   * first.
   * @throws {TypeError} When `timeout` is not a number.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Event().waitSync(0.01)); // false
   * ```
   */
  waitSync(timeout?: number | null): boolean {
    const i32 = this.#i32;
    if (Atomics.load(i32, FLAG) === SET) return true;
    const deadline = deadlineFrom(timeout, "wait for the event");
    return driveSync(waitWhile(i32, FLAG, CLEAR, deadline), i32);
  }

  /**
   * Describes the event for another process.
   *
   * @returns The share descriptor.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    this.#id ??= firstShareId("mp.Event", this);
    return { tag: "mp.Event", id: this.#id, data: { buf: this.#i32.buffer } };
  }

  /**
   * Makes the event that {@linkcode Event[kShare]} described, in the
   * receiving process.
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns An event over the same flag.
   */
  static [kRevive](data: unknown, id: string): Event {
    const event = new Event();
    event.#i32 = new Int32Array((data as { buf: SharedArrayBuffer }).buf);
    event.#id = id;
    return event;
  }
}
