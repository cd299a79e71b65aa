/**
 * Who holds each end of a pipe: a table of process keys per end in shared
 * memory, so that an end is open while some live process holds it, as in
 * Python (see the module doc of `pipe.ts`).
 *
 * ```text
 *  holders (Int32Array)  [ end 0: key | key | 0 | … ][ end 1: key | 0 | … ]
 * ```
 *
 * A process that ends is marked dead in the liveness table
 * (`_common/runtime.ts`), so its entries stop counting without anything
 * having to run when it dies.
 *
 * @module
 */

import { isAlive } from "../_common/runtime.ts";

/** Entries per end in the table. */
const HOLDER_SLOTS = 32;

/** The holders table of a pipe's two ends. */
export class Holders {
  /** The shared table: `2 * HOLDER_SLOTS` process keys. */
  readonly table: Int32Array;

  /**
   * Wraps a table (made here or in another process).
   *
   * @param buffer The shared buffer of {@linkcode Holders.create}.
   */
  constructor(buffer: SharedArrayBuffer) {
    this.table = new Int32Array(buffer);
  }

  /**
   * Makes the table of a new pipe, held by no one yet.
   *
   * @returns Its shared buffer.
   */
  static create(): SharedArrayBuffer {
    return new SharedArrayBuffer(2 * HOLDER_SLOTS * 4);
  }

  /**
   * Adds `key` to `side`'s holders (once), reusing an entry of a process
   * that died.
   *
   * @param side The end (0 or 1).
   * @param key The holding process's key.
   * @throws {RangeError} When the end's table is full of live processes.
   */
  add(side: number, key: number): void {
    const t = this.table;
    const base = side * HOLDER_SLOTS;
    for (let i = base; i < base + HOLDER_SLOTS; i++) {
      if (Atomics.load(t, i) === key) return;
    }
    for (let i = base; i < base + HOLDER_SLOTS; i++) {
      const v = Atomics.load(t, i);
      if (
        (v === 0 || !isAlive(v)) && Atomics.compareExchange(t, i, v, key) === v
      ) {
        return;
      }
    }
    throw new RangeError(
      `Cannot pass the connection on: ${HOLDER_SLOTS} live processes hold this end already; close() it in some of them first`,
    );
  }

  /**
   * Takes `key` out of `side`'s holders.
   *
   * @param side The end (0 or 1).
   * @param key The process's key.
   */
  remove(side: number, key: number): void {
    const base = side * HOLDER_SLOTS;
    for (let i = base; i < base + HOLDER_SLOTS; i++) {
      Atomics.compareExchange(this.table, i, key, 0);
    }
  }

  /**
   * Whether some live process holds `side`.
   *
   * @param side The end (0 or 1).
   * @returns `false` once no entry names a live process.
   */
  held(side: number): boolean {
    const base = side * HOLDER_SLOTS;
    for (let i = base; i < base + HOLDER_SLOTS; i++) {
      const v = Atomics.load(this.table, i);
      if (v !== 0 && isAlive(v)) return true;
    }
    return false;
  }
}
