/**
 * A many-writer, many-reader byte ring in shared memory: the channel under
 * `Queue`, `SimpleQueue`, `JoinableQueue` and each direction of a `Pipe`.
 *
 * ```text
 *  control (Int32Array, one 64-byte line per hot slot)
 *    HEAD  next byte to read      TAIL  next byte to write
 *    WLOCK writer lock (holder's process key, 0 = free) + waiter count
 *    RLOCK reader lock (same)     ITEMS complete items in the ring
 *    READERS_WAITING / WRITERS_WAITING: sleepers to wake, so the hot
 *    path skips the notify syscall when nobody sleeps
 *    PARTIAL the reader part-way through a chunked item (see below)
 *
 *  data (Uint8Array, power-of-two capacity)
 *    ... | u32 header | payload | pad to 4 | u32 header | payload | ...
 *    header = payload length | MORE (more chunks follow)
 *                            | CONT (a later chunk of an item)
 *                            | WRAP (skip to the start of the ring)
 * ```
 *
 * HEAD and TAIL only grow (modulo 2^32); `TAIL - HEAD` is the bytes in use.
 * A writer holds WLOCK only while it copies one record, a reader holds
 * RLOCK only while it copies one out, so locks are never held across a
 * wait, except for an item larger than a chunk, whose chunks must stay
 * together. Chunks are self-describing: a reader that meets a CONT record
 * it did not start (its reader died) skips it, and a new start record
 * while it holds a partial item (its writer died or timed out) replaces
 * it, so a process dying anywhere never wedges the ring.
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

// The driver moved to `drive.ts`; re-exported so the ring's users keep
// one import for a ring and the driver of its slow paths.
export { driveAsync, driveSync, type Steps, type Wait } from "./drive.ts";

const LINE = 16; // Int32 slots per 64-byte cache line.
const HEAD = 0;
const TAIL = LINE;
const WLOCK = 2 * LINE; // WLOCK + 1 counts its waiters.
const RLOCK = 3 * LINE; // RLOCK + 1 counts its waiters.
const READERS_WAITING = 4 * LINE;
const WRITERS_WAITING = 5 * LINE;
const ITEMS = 6 * LINE;
/**
 * The key of the reader part-way through a chunked item (0: none;
 * {@linkcode ABANDONED}: its reader gave up), so the item's writer can
 * give the item again when that reader dies or gives up (module doc).
 */
const PARTIAL = 7 * LINE;
/** In `PARTIAL`: the reader of a part-read item stopped waiting for it. */
const ABANDONED = -1;
const CONTROL_SLOTS = 8 * LINE;

const MORE = 0x8000_0000;
const CONT = 0x4000_0000;
const WRAP = 0x2000_0000;
const LEN_MASK = 0x0fff_ffff;

/**
 * Longest a wait sleeps before it looks again. Wakes are targeted, but a
 * waiter also needs to notice things that do not touch the slot it sleeps
 * on: a lock holder that died, a close that raced its last check. 50 ms
 * bounds that delay and costs ~20 wake-ups a second per idle waiter.
 */
const SLICE_MS = 50;

/** Smallest and largest ring sizes, in bytes. */
export const MIN_CAPACITY = 64;
/** Largest ring size, in bytes (the header's length field). */
export const MAX_CAPACITY = 1 << 28;

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

/** What a ring is made of; structured-cloneable, so it can cross. */
export interface RingInit {
  /** The control slots. */
  control: SharedArrayBuffer;
  /** The bytes. */
  data: SharedArrayBuffer;
}

/**
 * A growable, non-shared buffer a reader copies a payload into, so the
 * reader lock is released before the (slower) decode.
 */
class Accumulator {
  buf: Uint8Array = new Uint8Array(1 << 12);
  len = 0;

  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.len + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.len + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(src.subarray(start, end), this.len);
    this.len += n;
  }
}

/**
 * The reader-side buffer shared by every ring in this thread. Safe because
 * a read copies into it and the caller decodes it before anything else
 * runs, with one exception handled by `multiChunk` below: a large item read
 * across awaits gets its own accumulator.
 */
const sharedAcc = new Accumulator();

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Rounds a requested size to the ring size actually used. */
export function ringCapacity(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes <= 0) {
    throw new RangeError(
      `Cannot make the buffer: 'bufferSize' must be a positive integer, got ${bytes}`,
    );
  }
  let cap = MIN_CAPACITY;
  while (cap < bytes && cap < MAX_CAPACITY) cap *= 2;
  return cap;
}

/** A shared-memory byte ring of self-delimiting records. */
export class Ring {
  /** The control slots. */
  readonly ctl: Int32Array;
  /** The data bytes. */
  readonly u8: Uint8Array;
  /** The data bytes as aligned headers. */
  readonly u32: Uint32Array;
  /** Data size in bytes (a power of two). */
  readonly capacity: number;
  /** Largest payload of one record; longer items are chunked. */
  readonly maxChunk: number;
  readonly #mask: number;
  readonly #init: RingInit;
  /** Where the last record this thread wrote starts (see #tryRecord). */
  #recordAt = 0;
  readonly #sides: RingSides;

  /**
   * Wraps the shared buffers of a ring (made here or elsewhere).
   *
   * @param init The ring's buffers.
   * @param sides Whether a side has no process left (pipes).
   */
  constructor(init: RingInit, sides: RingSides = {}) {
    this.#init = init;
    this.#sides = sides;
    this.ctl = new Int32Array(init.control);
    this.u8 = new Uint8Array(init.data);
    this.u32 = new Uint32Array(init.data);
    this.capacity = init.data.byteLength;
    this.#mask = this.capacity - 1;
    // Every record, plus the padding a wrap may need before it, must fit
    // an empty ring: a record of at most capacity / 4 always does.
    this.maxChunk = (this.capacity >>> 2) - 4;
  }

  /**
   * Makes a new ring.
   *
   * @param bytes The data size (rounded up to a power of two).
   * @returns The ring.
   */
  static create(bytes: number): Ring {
    return new Ring({
      control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
      data: new SharedArrayBuffer(ringCapacity(bytes)),
    });
  }

  /** The buffers, to rebuild this ring in another process. */
  get init(): RingInit {
    return this.#init;
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
   * Writes `src[start..end)` as one record if it fits now. The caller
   * holds WLOCK, so TAIL is ours to move.
   */
  #tryRecord(
    src: Uint8Array,
    start: number,
    end: number,
    flags: number,
  ): boolean {
    const ctl = this.ctl;
    const cap = this.capacity;
    const tail = Atomics.load(ctl, TAIL);
    const head = Atomics.load(ctl, HEAD);
    const len = end - start;
    const rec = align4(4 + len);
    let off = tail & this.#mask;
    const rest = cap - off;
    const pad = rest < rec ? rest : 0;
    if (((tail - head) >>> 0) + pad + rec > cap) return false;
    if (pad !== 0) {
      this.u32[off >>> 2] = WRAP;
      off = 0;
    }
    this.#recordAt = (tail + pad) | 0;
    this.u32[off >>> 2] = len | flags;
    this.u8.set(
      start === 0 && end === src.length ? src : src.subarray(start, end),
      off + 4,
    );
    // The seq-cst store publishes the plain writes above: a reader that
    // loads the new TAIL sees the header and payload.
    Atomics.store(ctl, TAIL, (tail + pad + rec) | 0);
    // Counted after it is readable, so "items > 0" means one can be read
    // (a fast reader may take it first and dip the count below 0).
    if ((flags & MORE) === 0) Atomics.add(ctl, ITEMS, 1);
    if (Atomics.load(ctl, READERS_WAITING) > 0) {
      // Wake all: one of the sleepers may be a reader holding RLOCK in
      // the middle of a chunked item, the only one who can go on.
      Atomics.notify(ctl, TAIL);
    }
    return true;
  }

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
      return this.#tryRecord(payload, 0, payload.length, 0);
    } finally {
      this.#unlock(WLOCK);
    }
  }

  /** Sleeps until HEAD moves on from `head` (room was made). */
  *#waitRoom(head: number, deadline: number): Steps<boolean> {
    const ctl = this.ctl;
    const now = performance.now();
    if (now >= deadline) return false;
    Atomics.add(ctl, WRITERS_WAITING, 1);
    try {
      // Raise the count before the last look (readers load it after
      // moving HEAD), so a move between the look and the sleep wakes us.
      if (Atomics.load(ctl, HEAD) !== head || this.readClosed()) return true;
      yield {
        slot: HEAD,
        expected: head,
        deadline: Math.min(deadline, now + SLICE_MS),
        lock: false,
      };
      return true;
    } finally {
      Atomics.sub(ctl, WRITERS_WAITING, 1);
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
    const ctl = this.ctl;
    if (payload.length <= this.maxChunk) {
      for (;;) {
        if (this.readClosed()) return CLOSED;
        if (!(yield* this.#lock(WLOCK, deadline))) return TIMED_OUT;
        let ok: boolean;
        let head: number;
        try {
          ok = this.#tryRecord(payload, 0, payload.length, 0);
          head = Atomics.load(ctl, HEAD);
        } finally {
          this.#unlock(WLOCK);
        }
        if (ok) return true;
        // Wait for room without the lock, so other writers (maybe with
        // smaller items) and same-thread sync calls are not held up.
        if (!(yield* this.#waitRoom(head, deadline))) {
          if (this.#fits(payload.length)) continue;
          return TIMED_OUT;
        }
      }
    }
    // Chunks of one item must be contiguous: hold the lock throughout. If
    // we give up half way, the reader drops the partial item when the
    // next item starts (see the module doc).
    if (!(yield* this.#lock(WLOCK, deadline))) return TIMED_OUT;
    try {
      const n = payload.length;
      /** Where this copy's first chunk starts. */
      let startAt = 0;
      for (let pos = 0; pos < n;) {
        if (pos > 0 && this.#abandoned(startAt)) {
          pos = 0; // Its reader died part-way: give the item again.
          continue;
        }
        const end = Math.min(n, pos + this.maxChunk);
        const flags = (pos === 0 ? 0 : CONT) | (end < n ? MORE : 0);
        let again = false;
        while (!this.#tryRecord(payload, pos, end, flags)) {
          if (this.readClosed()) return CLOSED;
          const head = Atomics.load(ctl, HEAD);
          if (!(yield* this.#waitRoom(head, deadline))) return TIMED_OUT;
          if (pos > 0 && this.#abandoned(startAt)) {
            again = true;
            break;
          }
        }
        if (again) {
          pos = 0;
          continue;
        }
        if (pos === 0) startAt = this.#recordAt;
        pos = end;
        if (pos < n) continue;
        // All written. A reader part-way through it may still die before
        // it has the rest: keep the item (and the lock, so no other item
        // follows) until that reader has it all.
        const given = yield* this.#handedOver(startAt, deadline);
        if (!given) {
          Atomics.sub(ctl, ITEMS, 1); // The copy counted is lost.
          pos = 0;
        }
      }
      return true;
    } finally {
      this.#unlock(WLOCK);
    }
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
      if (!(yield* this.#waitRoom(head, deadline))) return true;
    }
  }

  /** Whether a one-record payload of `len` bytes fits right now. */
  #fits(len: number): boolean {
    const ctl = this.ctl;
    const tail = Atomics.load(ctl, TAIL);
    const used = (tail - Atomics.load(ctl, HEAD)) >>> 0;
    const rec = align4(4 + len);
    const rest = this.capacity - (tail & this.#mask);
    return used + (rest < rec ? rest : 0) + rec <= this.capacity;
  }

  // --- reading -------------------------------------------------------

  /**
   * Consumes records from HEAD into `acc` until one item is complete or
   * the ring is drained. The caller holds RLOCK, so HEAD is ours to move.
   *
   * @returns Whether `acc` now holds a complete item; when not, `partial`
   * tells whether it holds the first chunks of one.
   */
  #consume(acc: Accumulator, state: { partial: boolean }): boolean {
    const ctl = this.ctl;
    const cap = this.capacity;
    const mask = this.#mask;
    const u32 = this.u32;
    let head = Atomics.load(ctl, HEAD);
    const tail = Atomics.load(ctl, TAIL);
    let done = false;
    while (head !== tail) {
      let off = head & mask;
      let h = u32[off >>> 2];
      if (h & WRAP) {
        head = (head + cap - off) | 0;
        off = 0;
        h = u32[0];
      }
      const len = h & LEN_MASK;
      const next = (head + align4(4 + len)) | 0;
      if (h & CONT) {
        // A later chunk: ours, or an orphan whose reader died; skip those.
        if (state.partial) acc.append(this.u8, off + 4, off + 4 + len);
      } else {
        // A first chunk. A partial item still held was abandoned by its
        // writer (died or timed out): drop it.
        acc.len = 0;
        acc.append(this.u8, off + 4, off + 4 + len);
        // Name ourselves before HEAD moves past it (see the module doc);
        // a dropped partial item's claim goes with it.
        if (h & MORE) Atomics.store(ctl, PARTIAL, currentKey());
        else if (state.partial) Atomics.store(ctl, PARTIAL, 0);
        state.partial = true;
      }
      head = next;
      if ((h & MORE) === 0 && state.partial) {
        state.partial = false;
        done = true;
        if (h & CONT) Atomics.store(ctl, PARTIAL, 0);
        Atomics.sub(ctl, ITEMS, 1);
        break;
      }
    }
    Atomics.store(ctl, HEAD, head);
    // Seq-cst store then load pairs with #waitRoom's add-then-look.
    if (Atomics.load(ctl, WRITERS_WAITING) > 0) Atomics.notify(ctl, HEAD);
    return done;
  }

  /** Whether a complete item starts at HEAD (chunks not all there: no). */
  #completeAvailable(): boolean {
    const ctl = this.ctl;
    let head = Atomics.load(ctl, HEAD);
    const tail = Atomics.load(ctl, TAIL);
    let started = false;
    while (head !== tail) {
      let off = head & this.#mask;
      let h = this.u32[off >>> 2];
      if (h & WRAP) {
        head = (head + this.capacity - off) | 0;
        off = 0;
        h = this.u32[0];
      }
      if ((h & CONT) === 0) started = true;
      if (started && (h & MORE) === 0) return true;
      head = (head + align4(4 + (h & LEN_MASK))) | 0;
    }
    return false;
  }

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
      if (this.#completeAvailable()) {
        sharedAcc.len = 0;
        got = this.#consume(sharedAcc, { partial: false });
      }
    } finally {
      this.#unlock(RLOCK);
    }
    return got ? decode(sharedAcc.buf.subarray(0, sharedAcc.len)) : EMPTY;
  }

  /** Sleeps until TAIL moves on from `tail` (data came). */
  *#waitData(tail: number, deadline: number): Steps<boolean> {
    const ctl = this.ctl;
    const now = performance.now();
    if (now >= deadline) return false;
    Atomics.add(ctl, READERS_WAITING, 1);
    try {
      // Count first, then look (writers store TAIL, then load the count).
      if (Atomics.load(ctl, TAIL) !== tail || this.writeClosed()) return true;
      yield {
        slot: TAIL,
        expected: tail,
        deadline: Math.min(deadline, now + SLICE_MS),
        lock: false,
      };
      return true;
    } finally {
      Atomics.sub(ctl, READERS_WAITING, 1);
    }
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
        got = this.#consume(acc, state);
        if (!got && state.partial) {
          // The item spans waits: give it its own buffer, since other
          // reads in this thread may use the shared one meanwhile.
          const own = new Accumulator();
          own.append(acc.buf, 0, acc.len);
          acc = own;
          for (;;) {
            const seen = Atomics.load(ctl, HEAD);
            const writer = Atomics.load(ctl, WLOCK);
            if (writer === 0 || !isAlive(writer)) {
              // The writer let go (timed out) or died: the rest comes
              // only if it was written before it let go.
              if (Atomics.load(ctl, TAIL) === seen) {
                state.partial = false;
                Atomics.store(ctl, PARTIAL, 0);
                break;
              }
            } else if (
              this.writeClosed() && Atomics.load(ctl, TAIL) === seen
            ) {
              break;
            } else {
              yield* this.#waitData(seen, Infinity);
            }
            got = this.#consume(acc, state);
            if (got || !state.partial) break;
          }
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
      if (!(yield* this.#waitData(drained, deadline))) {
        // Deadline passed: one last look, so a wake at the deadline that
        // came with data is not wasted.
        const last = this.tryRead(decode);
        return last === EMPTY ? TIMED_OUT : last;
      }
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
      if (!(yield* this.#waitData(tail, deadline))) {
        return Atomics.load(ctl, TAIL) !== Atomics.load(ctl, HEAD);
      }
    }
  }
}
