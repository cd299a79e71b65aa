/**
 * The layout of a ring's shared memory, and its records: how a payload is
 * framed in the data bytes and copied in and out. Everything here runs
 * under the ring's lock for its side (`ring.ts` takes it), so HEAD or TAIL
 * is the caller's to move.
 *
 * ```text
 *  control (Int32Array, one 64-byte line per hot slot)
 *    HEAD  next byte to read      TAIL  next byte to write
 *    WLOCK writer lock (holder's process key, 0 = free) + waiter count
 *    RLOCK reader lock (same)     ITEMS complete items in the ring
 *    READERS_WAITING / WRITERS_WAITING: sleepers to wake, so the hot
 *    path skips the notify syscall when nobody sleeps
 *    PARTIAL the reader part-way through a chunked item (`ring.ts`)
 *
 *  data (Uint8Array, power-of-two capacity)
 *    ... | u32 header | payload | pad to 4 | u32 header | payload | ...
 *    header = payload length | MORE (more chunks follow)
 *                            | CONT (a later chunk of an item)
 *                            | WRAP (skip to the start of the ring)
 * ```
 *
 * HEAD and TAIL only grow (modulo 2^32); `TAIL - HEAD` is the bytes in use.
 * Chunks are self-describing: a reader that meets a CONT record it did not
 * start (its reader died) skips it, and a new start record while it holds
 * a partial item (its writer died or timed out) replaces it.
 *
 * @module
 */

import { currentKey } from "../_common/runtime.ts";

const LINE = 16; // Int32 slots per 64-byte cache line.
/** Next byte to read. */
export const HEAD = 0;
/** Next byte to write. */
export const TAIL = LINE;
/** The writer lock; `WLOCK + 1` counts its waiters. */
export const WLOCK = 2 * LINE;
/** The reader lock; `RLOCK + 1` counts its waiters. */
export const RLOCK = 3 * LINE;
/** Readers asleep waiting for TAIL to move. */
export const READERS_WAITING = 4 * LINE;
/** Writers asleep waiting for HEAD to move. */
export const WRITERS_WAITING = 5 * LINE;
/** Complete items in the ring. */
export const ITEMS = 6 * LINE;
/**
 * The key of the reader part-way through a chunked item (0: none;
 * {@linkcode ABANDONED}: its reader gave up), so the item's writer can
 * give the item again when that reader dies or gives up (`ring.ts`).
 */
export const PARTIAL = 7 * LINE;
/** In `PARTIAL`: the reader of a part-read item stopped waiting for it. */
export const ABANDONED = -1;
const CONTROL_SLOTS = 8 * LINE;

/** Header flag: more chunks of this item follow. */
export const MORE = 0x8000_0000;
/** Header flag: a later chunk of an item. */
export const CONT = 0x4000_0000;
const WRAP = 0x2000_0000;
const LEN_MASK = 0x0fff_ffff;

/** Smallest ring size, in bytes. */
export const MIN_CAPACITY = 64;
/** Largest ring size, in bytes (the header's length field). */
export const MAX_CAPACITY = 1 << 28;

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
export class Accumulator {
  /** The bytes copied so far are `buf.subarray(0, len)`. */
  buf: Uint8Array = new Uint8Array(1 << 12);
  /** How many bytes were copied. */
  len = 0;

  /** Copies `src[start..end)` after what is there. */
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

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Rounds a requested size to the ring size actually used.
 *
 * @param bytes The size asked for.
 * @returns A power of two from {@linkcode MIN_CAPACITY} to
 * {@linkcode MAX_CAPACITY}.
 * @throws {RangeError} When `bytes` is not a positive integer.
 */
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

/**
 * The records of a ring: its shared buffers and the framing of payloads
 * in them. `Ring` (`ring.ts`) adds the locks and waits.
 */
export class RingRecords {
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
  /** The buffers, to rebuild this ring in another process. */
  readonly init: RingInit;
  readonly #mask: number;
  /** Where the last record this thread wrote starts (see tryRecord). */
  recordAt = 0;

  /**
   * Wraps the shared buffers of a ring (made here or elsewhere).
   *
   * @param init The ring's buffers.
   */
  constructor(init: RingInit) {
    this.init = init;
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
   * Makes the buffers of a new ring.
   *
   * @param bytes The data size (rounded up to a power of two).
   * @returns The buffers.
   * @throws {RangeError} When `bytes` is not a positive integer.
   */
  static buffers(bytes: number): RingInit {
    return {
      control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
      data: new SharedArrayBuffer(ringCapacity(bytes)),
    };
  }

  /**
   * Writes `src[start..end)` as one record if it fits now. The caller
   * holds WLOCK, so TAIL is ours to move.
   */
  tryRecord(
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
    this.recordAt = (tail + pad) | 0;
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

  /** Whether a one-record payload of `len` bytes fits right now. */
  fits(len: number): boolean {
    const ctl = this.ctl;
    const tail = Atomics.load(ctl, TAIL);
    const used = (tail - Atomics.load(ctl, HEAD)) >>> 0;
    const rec = align4(4 + len);
    const rest = this.capacity - (tail & this.#mask);
    return used + (rest < rec ? rest : 0) + rec <= this.capacity;
  }

  /**
   * Consumes records from HEAD into `acc` until one item is complete or
   * the ring is drained. The caller holds RLOCK, so HEAD is ours to move.
   *
   * @returns Whether `acc` now holds a complete item; when not, `partial`
   * tells whether it holds the first chunks of one.
   */
  consume(acc: Accumulator, state: { partial: boolean }): boolean {
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
    // Seq-cst store then load pairs with the add-then-look of a writer's wait
    // for room (`ring.ts`).
    if (Atomics.load(ctl, WRITERS_WAITING) > 0) Atomics.notify(ctl, HEAD);
    return done;
  }

  /** Whether a complete item starts at HEAD (chunks not all there: no). */
  completeAvailable(): boolean {
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
}
