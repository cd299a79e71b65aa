/**
 * Frames of the manager's protocol: a 4-byte big-endian length, then that
 * many bytes. {@linkcode FrameReader} takes frames out of a stream (in
 * pieces or many at once) and refuses any over its limit;
 * {@linkcode FrameWriter} queues frames and writes them in batches.
 *
 * @module
 */

import { HANDSHAKE_MAX_FRAME } from "./wire.ts";

// --- Frames -------------------------------------------------------------

/**
 * Prefixes a payload with its length.
 *
 * @param payload The bytes.
 * @returns The frame.
 */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** A frame longer than the limit arrived. */
export class FrameTooLarge extends Error {
  /** @param size The announced size. @param max The limit. */
  constructor(size: number, max: number) {
    super(`Cannot read a frame of ${size} bytes: the limit is ${max} bytes`);
    this.name = "FrameTooLarge";
  }
}

/** The read buffer of an authenticated connection, in bytes. */
const READ_BUFFER = 64 * 1024;

/** Reads length-prefixed frames from a connection. */
export class FrameReader {
  #conn: Deno.Conn;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #max: number;

  /**
   * @param conn The connection to read.
   * @param max The largest frame accepted, in bytes.
   */
  constructor(conn: Deno.Conn, max: number) {
    this.#conn = conn;
    this.#max = max;
    // A connection still in the handshake gets a buffer of its size, so
    // thousands of strangers cost little memory.
    this.#buf = new Uint8Array(Math.min(READ_BUFFER, max + 4));
  }

  /** The largest frame accepted now, in bytes. */
  get max(): number {
    return this.#max;
  }

  set max(n: number) {
    this.#max = n;
    if (this.#buf.length < READ_BUFFER && n + 4 > this.#buf.length) {
      this.#reserve(Math.min(READ_BUFFER, n + 4));
    }
  }

  /**
   * Returns the frames that are complete in the buffer, reading once more
   * from the connection when none is.
   *
   * @returns The frames (at least one), or `null` at the end of the stream.
   * @throws {FrameTooLarge} When a frame announces more than `max` bytes.
   */
  async next(): Promise<Uint8Array[] | null> {
    for (;;) {
      const frames = this.#take();
      if (frames.length > 0) return frames;
      if (!await this.#fill()) return null;
    }
  }

  #take(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      const avail = this.#end - this.#start;
      if (avail < 4) break;
      const b = this.#buf;
      const s = this.#start;
      const len = ((b[s] << 24) >>> 0) + (b[s + 1] << 16) + (b[s + 2] << 8) +
        b[s + 3];
      if (len > this.max) throw new FrameTooLarge(len, this.max);
      if (avail < 4 + len) {
        this.#reserve(4 + len);
        break;
      }
      out.push(b.slice(s + 4, s + 4 + len));
      this.#start += 4 + len;
      // Stop at the limit after a size change (the handshake raises it).
      if (out.length > 0 && this.max <= HANDSHAKE_MAX_FRAME) break;
    }
    return out;
  }

  /** Makes room for a frame of `need` bytes from `#start`. */
  #reserve(need: number): void {
    if (this.#buf.length - this.#start >= need) return;
    const used = this.#end - this.#start;
    const next = need > this.#buf.length
      ? new Uint8Array(Math.max(need, this.#buf.length * 2))
      : this.#buf;
    next.set(this.#buf.subarray(this.#start, this.#end), 0);
    this.#buf = next;
    this.#start = 0;
    this.#end = used;
  }

  async #fill(): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      this.#reserve(this.#end - this.#start + 1);
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}

/**
 * Writes all of `bytes` to `conn`.
 *
 * @param conn The connection.
 * @param bytes The bytes.
 */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Queues frames and writes them in batches, one write at a time. */
export class FrameWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #size = 0;
  #busy = false;
  #onError: (err: unknown) => void;

  /**
   * @param conn The connection to write to.
   * @param onError Called once when a write fails.
   */
  constructor(conn: Deno.Conn, onError: (err: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /**
   * Queues a frame; it is written after the frames queued before it.
   *
   * @param bytes A whole frame.
   */
  send(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#size += bytes.length;
    if (!this.#busy) this.#flush();
  }

  async #flush(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        let chunk: Uint8Array;
        if (this.#queue.length === 1) {
          chunk = this.#queue[0];
        } else {
          chunk = new Uint8Array(this.#size);
          let off = 0;
          for (const q of this.#queue) {
            chunk.set(q, off);
            off += q.length;
          }
        }
        this.#queue = [];
        this.#size = 0;
        await writeAll(this.#conn, chunk);
      }
    } catch (err) {
      this.#queue = [];
      this.#size = 0;
      this.#onError(err);
    } finally {
      this.#busy = false;
    }
  }
}
