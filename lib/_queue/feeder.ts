/**
 * A queue handle's feeder, as Python's feeder thread: the items a put
 * accepted that did not fit the ring yet, written in put order as readers
 * make room. It runs on the event loop while it holds items, and every
 * sync call of the handle also writes what fits ({@linkcode Feeder.pump}),
 * so a worker looping on `putSync` keeps its readers fed. A process's end
 * waits for its feeders ({@linkcode flushFeeders}) except those of handles
 * that called `cancelJoinThread()`.
 *
 * @module
 */

import type { CLOSED, Ring, TIMED_OUT } from "../_shm/ring.ts";
import type { Steps, Wait } from "../_shm/drive.ts";
import { waitAsync } from "../_shm/wait.ts";

/** The feeders of this thread that hold items, and their runs. */
const feeding = new Map<Feeder, Promise<void>>();

/** Writes a queue handle's accepted items into its ring, in order. */
export class Feeder {
  readonly #ring: Ring;
  /** Accepted items not yet (wholly) in the ring, oldest first. */
  readonly #pending: Uint8Array[] = [];
  /** The write of `#pending[0]` under way, paused at `#paused`. */
  #writing: Steps<true | typeof TIMED_OUT | typeof CLOSED> | null = null;
  #paused: Wait | null = null;
  /** The run on the event loop, while items are pending. */
  #run: Promise<void> | null = null;
  /** `cancelJoinThread()` was called: the process end does not wait. */
  #cancelled = false;

  /**
   * Makes the feeder of one handle.
   *
   * @param ring The ring it writes to.
   */
  constructor(ring: Ring) {
    this.#ring = ring;
  }

  /** Whether the process end waits for this feeder. */
  get joinsAtExit(): boolean {
    return !this.#cancelled;
  }

  /**
   * Takes an item whose place is counted: into the ring if it fits now
   * and nothing of this feeder is ahead of it, else into the feeder.
   *
   * @param payload The encoded item.
   * @param owned Whether `payload` is the caller's own copy (not the
   * codec's reused buffer).
   */
  accept(payload: Uint8Array, owned: boolean): void {
    if (this.#pending.length === 0 && this.#ring.tryWrite(payload)) return;
    this.#pending.push(owned ? payload : payload.slice());
    if (this.pump() || this.#run !== null) return;
    const run = this.#feed();
    this.#run = run;
    feeding.set(this, run);
  }

  /**
   * Writes what fits now.
   *
   * @returns `true` when the feeder is empty.
   */
  pump(): boolean {
    const pending = this.#pending;
    for (;;) {
      if (this.#writing === null) {
        if (pending.length === 0) return true;
        this.#writing = this.#ring.write(pending[0], Infinity);
      }
      // Each step re-checks the ring (a wait's wake may be spurious).
      const r = this.#writing.next(true);
      if (!r.done) {
        this.#paused = r.value;
        return false;
      }
      // A queue's ring is never closed and the write has no deadline, so
      // it is written.
      this.#writing = null;
      this.#paused = null;
      pending.shift();
    }
  }

  /** Lets the process end without waiting for this feeder. */
  cancelJoin(): void {
    this.#cancelled = true;
  }

  /** Waits until the feeder is empty. */
  async flushed(): Promise<void> {
    while (this.#run !== null) await this.#run;
  }

  /** The run: sleeps on what the paused write waits for, then pumps. */
  async #feed(): Promise<void> {
    try {
      do {
        const w = this.#paused!;
        if (this.#cancelled) {
          // Not waitAsync: this wait must not keep the event loop alive.
          const res = Atomics.waitAsync(
            this.#ring.ctl,
            w.slot,
            w.expected,
            Math.max(0, w.deadline - performance.now()),
          );
          if (res.async) await res.value;
        } else {
          await waitAsync(this.#ring.ctl, w.slot, w.expected, w.deadline);
        }
      } while (!this.pump());
    } finally {
      this.#run = null;
      feeding.delete(this);
    }
  }
}

/**
 * Writes what fits of every feeder of this thread: `driveSync`'s hook in
 * every blocking wait of a queue or pipe. A feeder otherwise runs on the
 * event loop, which a thread blocked in a sync call never returns to
 * (Python's feeder is a thread of its own): a worker that put to one queue
 * and then blocks in another's `getSync()` would hold the first one's
 * readers up for good.
 */
export function pumpFeeders(): void {
  for (const feeder of feeding.keys()) feeder.pump();
}

/**
 * Waits until the feeders of this thread's queues have written their
 * items, except those of handles that called `cancelJoinThread()`: the
 * end of a process, as Python's joins its queues' feeder threads.
 *
 * @returns A promise that resolves when they are empty.
 */
export async function flushFeeders(): Promise<void> {
  for (;;) {
    const runs = [...feeding].filter(([f]) => f.joinsAtExit);
    if (runs.length === 0) return;
    await Promise.all(runs.map(([, run]) => run));
  }
}
