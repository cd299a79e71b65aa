/**
 * A many-writer, many-reader byte ring in shared memory: the channel under
 * `Queue`, `SimpleQueue`, `JoinableQueue` and each direction of a `Pipe`.
 * Its layout and records are in `ring_records.ts`; here are the locks and
 * waits that let many processes share it.
 *
 * A writer holds WLOCK only while it copies one record, a reader holds
 * RLOCK only while it copies one out, so locks are never held across a
 * wait, except for an item larger than a chunk, whose chunks must stay
 * together. Chunks are self-describing (`ring_records.ts`), so a process
 * dying anywhere never wedges the ring.
 *
 * A reader dying part-way through a chunked item loses nothing: it names
 * itself in PARTIAL while it holds part of one, and the item's writer,
 * which keeps the whole payload and the write lock until that reader has
 * it all, sees PARTIAL name a dead reader (or ABANDONED, from a reader
 * whose wait was cancelled) and writes the item again from its first
 * chunk; the next reader skips the orphaned chunks and reads the new
 * copy.
 *
 * The locks hold their owner's process key, so a waiter can see that the
 * owner died (`isAlive`) and take the lock over instead of deadlocking.
 *
 * Both sync and async callers share one implementation: every slow path
 * is a generator that yields "wait on this slot" requests, driven by
 * `drive.ts` (`Atomics.wait` or `Atomics.waitAsync`).
 *
 * @module
 */

import { currentKey, isAlive } from "../_common/runtime.ts";
import { driveSync, type Steps } from "./drive.ts";
import {
  ABANDONED,
  Accumulator,
  CONT,
  HEAD,
  ITEMS,
  MORE,
  PARTIAL,
  READERS_WAITING,
  RingRecords,
  RLOCK,
  TAIL,
  WLOCK,
  WRITERS_WAITING,
} from "./ring_records.ts";

// The driver moved to `drive.ts`; re-exported so the ring's users keep
// one import for a ring and the driver of its slow paths.
export { driveAsync, driveSync, type Steps, type Wait } from "./drive.ts";
export {
  MAX_CAPACITY,
  MIN_CAPACITY,
  ringCapacity,
  type RingInit,
} from "./ring_records.ts";
import type { RingInit } from "./ring_records.ts";

/**
 * Longest a wait sleeps before it looks again. Wakes are targeted, but a
 * waiter also needs to notice things that do not touch the slot it sleeps
 * on: a lock holder that died, a close that raced its last check. 50 ms
 * bounds that delay and costs ~20 wake-ups a second per idle waiter.
 */
const SLICE_MS = 50;

/**
 * From a chunked write's copy: its reader died or gave up part-way, so the
 * item is written again. Not a record position: those are multiples of 4.
 */
const AGAIN = -1;

/** Why a write or read did not complete. */
export const TIMED_OUT: unique symbol = Symbol("timed out");
/** The other side closed the ring (pipes). */
export const CLOSED: unique symbol = Symbol("closed");
/** Nothing to read right now. */
export const EMPTY: unique symbol = Symbol("empty");

/**
 * Tells a ring that one of its sides has no process left (a pipe whose
 * other end no process holds): it then acts as if that side were closed.
 */
export interface RingSides {
  /** Whether no process can write any more. */
  writersGone?: () => boolean;
  /** Whether no process can read any more. */
  readersGone?: () => boolean;
}

/**
 * The reader-side buffer shared by every ring in this thread. Safe because
 * a read copies into it and the caller decodes it before anything else
 * runs, with one exception handled in `read`: a large item read across
 * awaits gets its own accumulator.
 */
const sharedAcc = new Accumulator();

/** A shared-memory byte ring of self-delimiting records. */
export class Ring extends RingRecords {
  readonly #sides: RingSides;

  /**
   * Wraps the shared buffers of a ring (made here or elsewhere).
   *
   * @param init The ring's buffers.
   * @param sides Whether a side has no process left (pipes).
   */
  constructor(init: RingInit, sides: RingSides = {}) {
    super(init);
    this.#sides = sides;
  }

  /**
   * Makes a new ring.
   *
   * @param bytes The data size (rounded up to a power of two).
   * @returns The ring.
   * @throws {RangeError} When `bytes` is not a positive integer.
   */
  static create(bytes: number): Ring {
    return new Ring(RingRecords.buffers(bytes));
  }

  /** Complete items in the ring (a snapshot; briefly -1 in a race). */
  items(): number {
    return Atomics.load(this.ctl, ITEMS);
  }

  /** Whether the write side has no process left (pipes). */
  writeClosed(): boolean {
    return this.#sides.writersGone?.() ?? false;
  }

  /** Whether the read side has no process left (pipes). */
  readClosed(): boolean {
    return this.#sides.readersGone?.() ?? false;
  }

  /** Wakes every sleeper, to look again at whether a side is gone. */
  wakeAll(): void {
    Atomics.notify(this.ctl, TAIL);
    Atomics.notify(this.ctl, HEAD);
  }

  // --- locks ---------------------------------------------------------

  /** Takes `slot`'s lock if it is free right now. */
  #tryLock(slot: number): boolean {
    return Atomics.compareExchange(this.ctl, slot, 0, currentKey()) === 0;
  }

  #unlock(slot: number): void {
    const ctl = this.ctl;
    Atomics.store(ctl, slot, 0);
    // Seq-cst store then load: a waiter either sees the lock free before
    // it sleeps, or has raised the count before our load (Dekker).
    if (Atomics.load(ctl, slot + 1) > 0) Atomics.notify(ctl, slot, 1);
  }

  /** Slow path of taking a lock; `false` when `deadline` passed. */
  *#lock(slot: number, deadline: number): Steps<boolean> {
    const ctl = this.ctl;
    const me = currentKey();
    if (Atomics.compareExchange(ctl, slot, 0, me) === 0) return true;
    Atomics.add(ctl, slot + 1, 1);
    try {
      for (;;) {
        const holder = Atomics.compareExchange(ctl, slot, 0, me);
        if (holder === 0) return true;
        if (holder !== me && !isAlive(holder)) {
          // The holder died inside its critical section. The records are
          // self-describing (see the module doc), so taking over is safe.
          if (Atomics.compareExchange(ctl, slot, holder, me) === holder) {
            return true;
          }
          continue;
        }
        const now = performance.now();
        if (now >= deadline) return false;
        yield {
          slot,
          expected: holder,
          deadline: Math.min(deadline, now + SLICE_MS),
          lock: true,
        };
      }
    } finally {
      Atomics.sub(ctl, slot + 1, 1);
      // A wake meant for us is lost if we leave without the lock (timeout,
      // abort): pass it on to the next waiter.
      if (Atomics.load(ctl, slot) === 0 && Atomics.load(ctl, slot + 1) > 0) {
        Atomics.notify(ctl, slot, 1);
      }
    }
  }

  // --- writing -------------------------------------------------------

  /**
   * Writes a payload that fits one record, without waiting: `false` when
   * the lock is busy or there is no room.
   *
   * @param payload The bytes (at most {@linkcode Ring.maxChunk}).
   * @returns Whether it was written.
   */
  tryWrite(payload: Uint8Array): boolean {
    if (payload.length > this.maxChunk) return false;
    if (!this.#tryLock(WLOCK)) return false;
    try {
      return this.tryRecord(payload, 0, payload.length, 0);
    } finally {
      this.#unlock(WLOCK);
    }
  }

  /**
   * Sleeps until `slot` moves on from `seen`: HEAD for a writer waiting
   * for room, TAIL for a reader waiting for data; or until the other side
   * is gone.
   *
   * @returns `false` when `deadline` had passed (no sleep).
   */
  *#waitMove(
    slot: typeof HEAD | typeof TAIL,
    seen: number,
    deadline: number,
  ): Steps<boolean> {
    const data = slot === TAIL;
    const sleepers = data ? READERS_WAITING : WRITERS_WAITING;
    const ctl = this.ctl;
    const now = performance.now();
    if (now >= deadline) return false;
    Atomics.add(ctl, sleepers, 1);
    try {
      // Raise the count before the last look (the other side moves the
      // slot, then loads the count), so a move between the look and the
      // sleep wakes us.
      if (Atomics.load(ctl, slot) !== seen) return true;
      if (data ? this.writeClosed() : this.readClosed()) return true;
      yield {
        slot,
        expected: seen,
        deadline: Math.min(deadline, now + SLICE_MS),
        lock: false,
      };
      return true;
    } finally {
      Atomics.sub(ctl, sleepers, 1);
    }
  }

  /**
   * Writes `payload` as one item, chunked when it is longer than
   * {@linkcode Ring.maxChunk}, waiting for room until `deadline`.
   *
   * @param payload The encoded item.
   * @param deadline When to give up (`performance.now()` ms).
   * @returns `true`, or why not.
   */
  *write(
    payload: Uint8Array,
    deadline: number,
  ): Steps<true | typeof TIMED_OUT | typeof CLOSED> {
    return payload.length <= this.maxChunk
      ? yield* this.#writeRecord(payload, deadline)
      : yield* this.#writeChunks(payload, deadline);
  }

  /** `write` of an item that fits one record. */
  *#writeRecord(
    payload: Uint8Array,
    deadline: number,
  ): Steps<true | typeof TIMED_OUT | typeof CLOSED> {
    for (;;) {
      if (this.readClosed()) return CLOSED;
      if (!(yield* this.#lock(WLOCK, deadline))) return TIMED_OUT;
      let ok: boolean;
      let head: number;
      try {
        ok = this.tryRecord(payload, 0, payload.length, 0);
        head = Atomics.load(this.ctl, HEAD);
      } finally {
        this.#unlock(WLOCK);
      }
      if (ok) return true;
      // Wait for room without the lock, so other writers (maybe with
      // smaller items) and same-thread sync calls are not held up.
      if (!(yield* this.#waitMove(HEAD, head, deadline))) {
        if (this.fits(payload.length)) continue;
        return TIMED_OUT;
      }
    }
  }

  /**
   * `write` of an item in chunks. Chunks of one item must be contiguous:
   * it holds the lock throughout. If it gives up half way, the reader
   * drops the partial item when the next item starts (module doc).
   */
  *#writeChunks(
    payload: Uint8Array,
    deadline: number,
  ): Steps<true | typeof TIMED_OUT | typeof CLOSED> {
    if (!(yield* this.#lock(WLOCK, deadline))) return TIMED_OUT;
    try {
      for (;;) {
        const startAt = yield* this.#writeCopy(payload, deadline);
        if (typeof startAt !== "number") return startAt;
        if (startAt === AGAIN) continue;
        // All written. A reader part-way through it may still die before
        // it has the rest: keep the item (and the lock, so no other item
        // follows) until that reader has it all.
        if (yield* this.#handedOver(startAt, deadline)) return true;
        Atomics.sub(this.ctl, ITEMS, 1); // The copy counted is lost.
      }
    } finally {
      this.#unlock(WLOCK);
    }
  }

  /**
   * Writes one copy of a chunked item, under the write lock.
   *
   * @returns Where the copy's first chunk starts; {@linkcode AGAIN} when
   * its reader died or gave up part-way (write it again); or why not.
   */
  *#writeCopy(
    payload: Uint8Array,
    deadline: number,
  ): Steps<number | typeof TIMED_OUT | typeof CLOSED> {
    const n = payload.length;
    let startAt = 0;
    for (let pos = 0; pos < n;) {
      const end = Math.min(n, pos + this.maxChunk);
      const flags = (pos === 0 ? 0 : CONT) | (end < n ? MORE : 0);
      while (!this.tryRecord(payload, pos, end, flags)) {
        if (this.readClosed()) return CLOSED;
        const head = Atomics.load(this.ctl, HEAD);
        if (!(yield* this.#waitMove(HEAD, head, deadline))) return TIMED_OUT;
        if (pos > 0 && this.#abandoned(startAt)) return AGAIN;
      }
      if (pos === 0) startAt = this.recordAt;
      pos = end;
      // Its reader died part-way: give the item again.
      if (pos < n && this.#abandoned(startAt)) return AGAIN;
    }
    return startAt;
  }

  /**
   * Whether the reader of the item starting at `startAt` died or gave up
   * part-way (PARTIAL names it), so the item must be written again.
   * Clears a PARTIAL left by a dead reader of an earlier item.
   */
  #abandoned(startAt: number): boolean {
    const ctl = this.ctl;
    const p = Atomics.load(ctl, PARTIAL);
    if (p === 0 || (p !== ABANDONED && isAlive(p))) return false;
    // Claim the notice, so only one writer acts on it.
    if (Atomics.compareExchange(ctl, PARTIAL, p, 0) !== p) return false;
    // Its first chunk was read: the reader had (part of) this copy.
    return ((Atomics.load(ctl, HEAD) - startAt) | 0) > 0;
  }

  /**
   * After the last chunk: waits while a live reader is part-way through
   * the item. `false` when that reader died or gave up (write it again).
   */
  *#handedOver(startAt: number, deadline: number): Steps<boolean> {
    const ctl = this.ctl;
    for (;;) {
      const p = Atomics.load(ctl, PARTIAL);
      // A reader in this very thread cannot die apart from us; waiting
      // for it here could block the thread it needs.
      if (p === 0 || p === currentKey()) return true;
      if (this.#abandoned(startAt)) return false;
      if (this.readClosed()) return true;
      const head = Atomics.load(ctl, HEAD);
      // Past the deadline the item stays in the ring as it is.
      if (!(yield* this.#waitMove(HEAD, head, deadline))) return true;
    }
  }

  // --- reading -------------------------------------------------------

  /**
   * Reads one item if one is wholly there now, without waiting.
   *
   * @param decode Turns the payload into the result (called before any
   * other read in this thread can reuse the payload's buffer).
   * @returns The decoded item, or `EMPTY` when there is none (or the lock
   * stays busy for long).
   */
  tryRead<T>(decode: (payload: Uint8Array) => T): T | typeof EMPTY {
    const ctl = this.ctl;
    if (Atomics.load(ctl, HEAD) === Atomics.load(ctl, TAIL)) return EMPTY;
    if (!this.#tryLock(RLOCK)) {
      // Another reader is copying (a few hundred ns): give it a moment, so
      // "no item" is not claimed while items are there. A holder in this
      // thread (an async read of a chunked item) will not let go.
      if (Atomics.load(ctl, RLOCK) === currentKey()) return EMPTY;
      const r = driveSync(
        this.#lock(RLOCK, performance.now() + 5),
        ctl,
        "read",
        false,
      );
      if (r !== true) return EMPTY;
    }
    let got = false;
    try {
      if (this.completeAvailable()) {
        sharedAcc.len = 0;
        got = this.consume(sharedAcc, { partial: false });
      }
    } finally {
      this.#unlock(RLOCK);
    }
    return got ? decode(sharedAcc.buf.subarray(0, sharedAcc.len)) : EMPTY;
  }

  /**
   * Reads one item, waiting for it until `deadline`.
   *
   * Once the first chunk of a chunked item is taken, the rest is awaited
   * past `deadline` while its writer still holds the write lock (it is
   * writing), so a timeout never loses an item half read.
   *
   * @param deadline When to give up (`performance.now()` ms).
   * @param decode Turns the payload into the result, right after it is
   * copied out (the copy's buffer is reused by the next read).
   * @returns The decoded item, or why there is none: `TIMED_OUT`, or
   * `CLOSED` (write side closed and the ring drained).
   */
  *read<T>(
    deadline: number,
    decode: (payload: Uint8Array) => T,
  ): Steps<T | typeof TIMED_OUT | typeof CLOSED> {
    const ctl = this.ctl;
    for (;;) {
      // Load the flag before looking for data: a writer closes after its
      // last write, so flag set + nothing found means nothing will come.
      const closed = this.writeClosed();
      if (!(yield* this.#lock(RLOCK, deadline))) return TIMED_OUT;
      const state = { partial: false };
      let acc = sharedAcc;
      let got = false;
      // Where the ring was drained to; sleep until TAIL moves past it.
      let drained: number;
      try {
        acc.len = 0;
        got = this.consume(acc, state);
        if (!got && state.partial) {
          // The item spans waits: give it its own buffer, since other
          // reads in this thread may use the shared one meanwhile.
          const own = new Accumulator();
          own.append(acc.buf, 0, acc.len);
          acc = own;
          got = yield* this.#readRest(acc, state);
        }
        drained = Atomics.load(ctl, HEAD);
      } finally {
        if (state.partial) {
          // Cancelled part-way: the writer gives the item again.
          Atomics.store(ctl, PARTIAL, ABANDONED);
          Atomics.notify(ctl, HEAD);
        }
        this.#unlock(RLOCK);
      }
      if (got) return decode(acc.buf.subarray(0, acc.len));
      if (closed && Atomics.load(ctl, TAIL) === drained) return CLOSED;
      if (!(yield* this.#waitMove(TAIL, drained, deadline))) {
        // Deadline passed: one last look, so a wake at the deadline that
        // came with data is not wasted.
        const last = this.tryRead(decode);
        return last === EMPTY ? TIMED_OUT : last;
      }
    }
  }

  /**
   * Reads the rest of a chunked item whose first chunks `acc` holds,
   * waiting past the read's deadline while its writer holds the write
   * lock (it is writing). The caller holds RLOCK.
   *
   * @returns Whether `acc` now holds the whole item; when not,
   * `state.partial` tells whether it still holds part of one.
   */
  *#readRest(
    acc: Accumulator,
    state: { partial: boolean },
  ): Steps<boolean> {
    const ctl = this.ctl;
    for (;;) {
      const seen = Atomics.load(ctl, HEAD);
      const writer = Atomics.load(ctl, WLOCK);
      if (writer === 0 || !isAlive(writer)) {
        // The writer let go (timed out) or died: the rest comes only if
        // it was written before it let go.
        if (Atomics.load(ctl, TAIL) === seen) {
          state.partial = false;
          Atomics.store(ctl, PARTIAL, 0);
          return false;
        }
      } else if (this.writeClosed() && Atomics.load(ctl, TAIL) === seen) {
        return false;
      } else {
        yield* this.#waitMove(TAIL, seen, Infinity);
      }
      const got = this.consume(acc, state);
      if (got || !state.partial) return got;
    }
  }

  /**
   * Waits, without taking anything, until an item is there, the write side
   * is closed, or `deadline`.
   *
   * @returns Whether there is an item (or EOF) to read.
   */
  *poll(deadline: number): Steps<boolean> {
    const ctl = this.ctl;
    for (;;) {
      const tail = Atomics.load(ctl, TAIL);
      if (tail !== Atomics.load(ctl, HEAD) || this.writeClosed()) return true;
      if (!(yield* this.#waitMove(TAIL, tail, deadline))) {
        return Atomics.load(ctl, TAIL) !== Atomics.load(ctl, HEAD);
      }
    }
  }
}
