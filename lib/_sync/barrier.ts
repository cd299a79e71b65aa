/**
 * `Barrier`: CPython's barrier, built on a {@linkcode Condition} whose
 * lock guards a state word and a count in shared memory. Its wait is
 * written once, as a generator that both twins run through the
 * condition. Re-exported by `lib/synchronize.ts`.
 *
 * @module
 */

import { BrokenBarrierError } from "../errors.ts";
import { decodeShared, encodeShared, kShare } from "../_common/transfer.ts";
import { deadlineFrom } from "../_common/timer.ts";
import { Condition } from "./condition.ts";
import { firstShareId, kRevive, kRun, kRunSync } from "./keys.ts";
import { Lock } from "./lock.ts";

/** Barrier slots: its state (below), and how many are inside `wait`. */
const B_STATE = 0;
const B_COUNT = 1;
/** Barrier states, as in CPython's `threading.Barrier`. */
const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

/**
 * A barrier for a fixed number of parties across processes (Python's
 * `multiprocessing.Barrier`): each `wait` blocks until `parties` callers
 * wait, then all pass together and the barrier is ready for the next
 * round. Built as CPython builds it, on a {@linkcode Condition}: callers
 * that come for the next round while the last one drains wait for it.
 *
 * The optional `action` runs once per round, in the process of the last
 * party to arrive, before any party is released. A function cannot cross
 * to another process, so a barrier with an `action` cannot be passed to
 * one (it throws a `TypeError` there); across processes, do the action
 * where `wait()` returned `0` instead, as the example shows.
 *
 * @example One action per round across processes
 * ```ts
 * import * as mp from "@seed/multiprocessing";
 *
 * const barrier = new mp.Barrier(1);
 * const index = await barrier.wait();
 * if (index === 0) console.log("every party arrived");
 * ```
 */
export class Barrier {
  #i32: Int32Array = new Int32Array(new SharedArrayBuffer(8));
  #id: string | undefined;
  #cond: Condition = new Condition(new Lock());
  #parties: number;
  #action: (() => void) | undefined;
  #timeout: number | null;

  /**
   * Makes a barrier for `parties` callers.
   *
   * @param parties How many must wait before all pass.
   * @param action Runs once per round, in the last party's process, before
   * the parties are released; if it throws, the barrier breaks and that
   * `wait` rethrows.
   * @param timeout Default timeout of `wait`, in seconds; none when
   * omitted.
   * @throws {RangeError} When `parties` is not a positive integer.
   * @throws {TypeError} When `action` is not a function.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(3, undefined, 10);
   * console.log(b.parties, b.nWaiting, b.broken); // 3 0 false
   * ```
   */
  constructor(
    parties: number,
    action?: (() => void) | null,
    timeout?: number | null,
  ) {
    if (!Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw new RangeError(
        `Cannot make a barrier: 'parties' must be a positive integer, got ${parties}`,
      );
    }
    if (
      action !== undefined && action !== null && typeof action !== "function"
    ) {
      throw new TypeError("Cannot make a barrier: 'action' must be a function");
    }
    if (timeout !== undefined && timeout !== null) {
      deadlineFrom(timeout, "make a barrier"); // validates
    }
    this.#parties = parties;
    this.#action = action ?? undefined;
    this.#timeout = timeout ?? null;
  }

  /** How many parties must wait before all pass. */
  get parties(): number {
    return this.#parties;
  }

  /** How many parties wait now (0 while the last round drains). */
  get nWaiting(): number {
    return Atomics.load(this.#i32, B_STATE) === FILLING
      ? Atomics.load(this.#i32, B_COUNT)
      : 0;
  }

  /** Whether the barrier is broken (see {@linkcode Barrier.reset}). */
  get broken(): boolean {
    return Atomics.load(this.#i32, B_STATE) === BROKEN;
  }

  /**
   * Waits (without blocking the event loop) until `parties` callers wait,
   * then passes with them.
   *
   * @param timeout The most seconds to wait; the barrier's own timeout
   * when omitted. On timeout the barrier breaks: this and every other
   * waiter get a {@linkcode BrokenBarrierError}.
   * @returns This caller's arrival index, `0` to `parties - 1`, different
   * for each party (`parties - 1` for the last to arrive).
   * @throws {BrokenBarrierError} (as a rejection) When the barrier is or
   * becomes broken (abort, reset, timeout, or a throwing action).
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(2);
   * console.log(await Promise.all([b.wait(), b.wait()])); // [0, 1]
   * ```
   */
  async wait(timeout?: number | null): Promise<number> {
    const deadline = deadlineFrom(
      timeout ?? this.#timeout,
      "wait at the barrier",
    );
    // The lock is never held across an await here (see `Condition[kRun]`),
    // so abort() and reset() in this thread never wait for this call.
    return await this.#cond[kRun](this.#run(deadline));
  }

  /**
   * Blocking twin of {@linkcode Barrier.wait} (blocks the event loop on
   * the main thread).
   *
   * @param timeout The most seconds to wait; the barrier's own timeout
   * when omitted. On timeout the barrier breaks.
   * @returns This caller's arrival index, `0` to `parties - 1`.
   * @throws {BrokenBarrierError} When the barrier is or becomes broken.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * console.log(new mp.Barrier(1).waitSync()); // 0
   * ```
   */
  waitSync(timeout?: number | null): number {
    const deadline = deadlineFrom(
      timeout ?? this.#timeout,
      "wait at the barrier",
    );
    return this.#cond[kRunSync](this.#run(deadline));
  }

  /**
   * CPython's `Barrier.wait`, written once for both twins: it yields the
   * deadline of each condition wait and gets back whether it was woken.
   * Runs with the condition's lock held; every state change is under it.
   */
  *#run(deadline: number): Generator<number, number, boolean> {
    const i32 = this.#i32;
    // Wait while the previous round drains or a reset completes.
    for (;;) {
      const s = Atomics.load(i32, B_STATE);
      if (s !== DRAINING && s !== RESETTING) break;
      yield Infinity;
    }
    if (Atomics.load(i32, B_STATE) === BROKEN) throw new BrokenBarrierError();
    const index = Atomics.add(i32, B_COUNT, 1);
    try {
      if (index + 1 === this.#parties) {
        try {
          this.#action?.();
        } catch (err) {
          this.#break();
          throw err;
        }
        Atomics.store(i32, B_STATE, DRAINING);
        this.#cond.notifyAll();
      } else {
        // Spurious wakes just loop: only the state says whether to pass.
        while (Atomics.load(i32, B_STATE) === FILLING) {
          const woken = yield deadline;
          if (!woken && Atomics.load(i32, B_STATE) === FILLING) {
            this.#break();
            throw new BrokenBarrierError(
              "Cannot pass the barrier: the wait timed out, which breaks it; call reset() to use it again",
            );
          }
        }
        if (Atomics.load(i32, B_STATE) < 0) throw new BrokenBarrierError();
      }
      return index;
    } finally {
      // The last one out of a drained or reset round lets the next in.
      if (Atomics.sub(i32, B_COUNT, 1) === 1) {
        const s = Atomics.load(i32, B_STATE);
        if (s === DRAINING || s === RESETTING) {
          Atomics.store(i32, B_STATE, FILLING);
          this.#cond.notifyAll();
        }
      }
    }
  }

  #break(): void {
    Atomics.store(this.#i32, B_STATE, BROKEN);
    this.#cond.notifyAll();
  }

  /**
   * Returns the barrier to its initial state. Parties waiting now get a
   * {@linkcode BrokenBarrierError}. Blocks briefly for the barrier's
   * internal lock.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(2);
   * b.abort();
   * b.reset();
   * console.log(b.broken); // false
   * ```
   */
  reset(): void {
    const i32 = this.#i32;
    using _held = this.#cond.lockSync();
    if (Atomics.load(i32, B_COUNT) > 0) {
      const s = Atomics.load(i32, B_STATE);
      if (s === FILLING || s === BROKEN) Atomics.store(i32, B_STATE, RESETTING);
    } else {
      Atomics.store(i32, B_STATE, FILLING);
    }
    this.#cond.notifyAll();
  }

  /**
   * Breaks the barrier: waiting and later parties get a
   * {@linkcode BrokenBarrierError} until {@linkcode Barrier.reset}. Use it
   * when a party cannot come, so the others do not wait forever.
   *
   * @example Usage
   * ```ts
   * import * as mp from "@seed/multiprocessing";
   * const b = new mp.Barrier(2);
   * b.abort();
   * console.log(b.broken); // true
   * ```
   */
  abort(): void {
    using _held = this.#cond.lockSync();
    this.#break();
  }

  /**
   * Describes the barrier for another process.
   *
   * @returns The share descriptor.
   * @throws {TypeError} When the barrier has an `action`.
   */
  [kShare](): { tag: string; id: string; data: unknown } {
    if (this.#action !== undefined) {
      throw new TypeError(
        "Cannot send a Barrier with an action to another process: a function cannot cross; make it without one and run the action where wait() returns 0",
      );
    }
    this.#id ??= firstShareId("mp.Barrier", this);
    return {
      tag: "mp.Barrier",
      id: this.#id,
      data: {
        buf: this.#i32.buffer,
        cond: encodeShared(this.#cond),
        parties: this.#parties,
        timeout: this.#timeout,
      },
    };
  }

  /**
   * Makes the barrier (and its condition) that
   * {@linkcode Barrier[kShare]} described, in the receiving process.
   *
   * @param data The descriptor's data.
   * @param id The descriptor's id.
   * @returns A barrier over the same state.
   */
  static [kRevive](data: unknown, id: string): Barrier {
    const d = data as {
      buf: SharedArrayBuffer;
      cond: unknown;
      parties: number;
      timeout: number | null;
    };
    const barrier = new Barrier(d.parties, undefined, d.timeout);
    barrier.#cond = decodeShared(d.cond) as Condition;
    barrier.#i32 = new Int32Array(d.buf);
    barrier.#id = id;
    return barrier;
  }
}
