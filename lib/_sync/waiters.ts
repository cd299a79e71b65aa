/**
 * The engine under `Condition`: a table of waiter records in shared
 * memory. Each waiter sleeps on its own record, so a notify goes to the
 * waiters that were there when it was called and cannot be taken by one
 * that comes later (a shared counter of wake tokens could be: a new
 * waiter could take a token meant for an old one, which then sleeps
 * through a notifyAll).
 *
 * Records change only under the condition's lock: a waiter takes one
 * (holding the lock) and sleeps on it; `notify(n)` marks the `n` oldest
 * notified and wakes each; a waiter that times out withdraws its record
 * (holding the lock again), or finds that a notify marked it meanwhile. A
 * record whose process died is dropped by the next notify, or reused.
 *
 * @module
 */

import { currentKey, isAlive } from "../_common/runtime.ts";
import { type Steps, waitWhile } from "../_shm/drive.ts";

/** Header slots: records in state WAITING; bound of records in use; next arrival number. */
const C_WAITING = 0;
const C_HIGH = 1;
const C_SEQ = 2;
const C_HEADER = 3;
/** A record: its state, its arrival number, its waiter's process key. */
const R_STATE = 0;
const R_SEQ = 1;
const R_KEY = 2;
const R_SIZE = 3;
const R_FREE = 0;
const R_WAITING = 1;
const R_NOTIFIED = 2;
/** How many callers may wait on one condition at once. */
export const CONDITION_CAPACITY = 1024;

/** A condition's waiter records (module doc). */
export class WaiterTable {
  /** The shared slots: the header, then the records. */
  readonly i32: Int32Array;

  /** @param buf The shared table of an existing condition (a revived one). */
  constructor(buf?: SharedArrayBuffer) {
    this.i32 = new Int32Array(
      buf ??
        new SharedArrayBuffer((C_HEADER + CONDITION_CAPACITY * R_SIZE) * 4),
    );
  }

  /**
   * Takes a free record for a new waiter (lock held).
   *
   * @returns The record's index, for {@linkcode WaiterTable.sleep} and
   * {@linkcode WaiterTable.unregister}.
   * @throws {Error} When every record is taken.
   */
  register(): number {
    const i32 = this.i32;
    const high = Atomics.load(i32, C_HIGH);
    let r = 0;
    for (; r < high; r++) {
      const at = C_HEADER + r * R_SIZE;
      const state = Atomics.load(i32, at + R_STATE);
      if (state === R_FREE) break;
      // A record left by a process that died while waiting is reused.
      if (!isAlive(Atomics.load(i32, at + R_KEY))) {
        if (state === R_WAITING) Atomics.sub(i32, C_WAITING, 1);
        break;
      }
    }
    if (r === high) {
      if (high === CONDITION_CAPACITY) {
        throw new Error(
          `Cannot wait on the condition: ${CONDITION_CAPACITY} callers wait on it already`,
        );
      }
      Atomics.store(i32, C_HIGH, high + 1);
    }
    const at = C_HEADER + r * R_SIZE;
    Atomics.store(i32, at + R_SEQ, Atomics.add(i32, C_SEQ, 1));
    Atomics.store(i32, at + R_KEY, currentKey());
    Atomics.store(i32, at + R_STATE, R_WAITING);
    Atomics.add(i32, C_WAITING, 1);
    return at;
  }

  /**
   * Sleeps until the record is notified or `deadline` passes (lock not
   * held). Only a notify changes the record; any other end of a sleep is
   * spurious and the loop sleeps again.
   */
  sleep(at: number, deadline: number): Steps<boolean> {
    return waitWhile(this.i32, at + R_STATE, R_WAITING, deadline);
  }

  /**
   * After the wait, with the lock held again: frees the record and tells
   * whether it was notified. A notify may have come between the timeout
   * and taking the lock back; it counted on this waiter, so that is a
   * wake, not a timeout.
   */
  unregister(at: number): boolean {
    const i32 = this.i32;
    const notified = Atomics.load(i32, at + R_STATE) === R_NOTIFIED;
    if (!notified) Atomics.sub(i32, C_WAITING, 1);
    Atomics.store(i32, at + R_STATE, R_FREE);
    // Keep the scanned range short once the last records are free.
    let high = Atomics.load(i32, C_HIGH);
    while (
      high > 0 &&
      Atomics.load(i32, C_HEADER + (high - 1) * R_SIZE) === R_FREE
    ) high--;
    Atomics.store(i32, C_HIGH, high);
    return notified;
  }

  /**
   * Wakes the `n` oldest waiters (`Infinity`: all), lock held. Arrival
   * numbers wrap, so they are compared by difference; records of dead
   * processes are dropped on the way.
   */
  notify(n: number): void {
    const i32 = this.i32;
    let left = n;
    while (left > 0 && Atomics.load(i32, C_WAITING) > 0) {
      const high = Atomics.load(i32, C_HIGH);
      let best = -1;
      let bestSeq = 0;
      for (let r = 0; r < high; r++) {
        const at = C_HEADER + r * R_SIZE;
        if (Atomics.load(i32, at + R_STATE) !== R_WAITING) continue;
        if (!isAlive(Atomics.load(i32, at + R_KEY))) {
          Atomics.store(i32, at + R_STATE, R_FREE);
          Atomics.sub(i32, C_WAITING, 1);
          continue;
        }
        const seq = Atomics.load(i32, at + R_SEQ);
        if (best < 0 || ((seq - bestSeq) | 0) < 0) {
          best = at;
          bestSeq = seq;
        }
        // notifyAll wakes every record in this one pass.
        if (left === Infinity) this.#wake(at);
      }
      if (best < 0 || left === Infinity) break;
      this.#wake(best);
      left--;
    }
  }

  #wake(at: number): void {
    Atomics.store(this.i32, at + R_STATE, R_NOTIFIED);
    Atomics.sub(this.i32, C_WAITING, 1);
    Atomics.notify(this.i32, at + R_STATE);
  }
}
