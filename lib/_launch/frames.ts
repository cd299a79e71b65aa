/**
 * The frames a `deno` child and its parent exchange over their socket
 * (`"subprocess"` start method): a u32 little-endian length, then an item
 * encoded by `_shm/codec.ts` (a fast tagged encoding for plain data,
 * `node:v8` serialization for the rest), so messages keep structured-clone
 * semantics (Map, Date, BigInt, typed arrays, errors). Used on both sides:
 * by the parent (`child_thread.ts`, `child_served.ts`) and by the child
 * (`child_entry.ts`, `_served/proxy.ts`).
 *
 * @module
 */

import { decodeItem, encodeItem } from "../_shm/codec.ts";
import { concat } from "../_common/bytes.ts";

/**
 * Encodes one message as a frame: a u32 little-endian length, then the
 * item's bytes.
 *
 * @param message Any structured-cloneable value.
 * @returns The frame (a fresh buffer).
 * @throws {DOMException} `DataCloneError` when the value cannot be cloned.
 */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encodeItem(message);
  const frame = new Uint8Array(body.length + 4);
  new DataView(frame.buffer).setUint32(0, body.length, true);
  frame.set(body, 4);
  return frame;
}

/** Frames in both directions over one connection. */
export class FrameChannel {
  #conn: Deno.Conn;
  #pending: Uint8Array[] = [];
  #writing = false;
  #closed = false;
  /** Settles when the peer closed the connection (or it broke). */
  readonly done: Promise<void>;

  /**
   * Starts reading frames from `conn`.
   *
   * @param conn The connection.
   * @param onMessage Called with each decoded message, in order.
   */
  constructor(conn: Deno.Conn, onMessage: (message: unknown) => void) {
    this.#conn = conn;
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // Not a TCP connection: nothing to tune.
    }
    this.done = this.#read(onMessage);
  }

  /**
   * Queues a frame; frames are written in order, several per write when
   * they pile up.
   *
   * @param frame A frame from {@linkcode encodeFrame}.
   */
  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#pending.push(frame);
    if (!this.#writing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const chunks = this.#pending;
        this.#pending = [];
        const data = concat(chunks);
        let off = 0;
        while (off < data.length) {
          off += await this.#conn.write(data.subarray(off));
        }
      }
    } catch {
      // The peer is gone; its exit is reported by whoever watches it.
      this.#pending = [];
    } finally {
      this.#writing = false;
    }
  }

  async #read(onMessage: (message: unknown) => void): Promise<void> {
    let buf = new Uint8Array(64 * 1024);
    let view = new DataView(buf.buffer);
    let start = 0;
    let end = 0;
    let need = 4;
    try {
      while (true) {
        if (buf.length - start < need) {
          // Too little room after `start` for the frame being read: move
          // it to the front, into a bigger buffer when it cannot fit.
          if (need > buf.length) {
            const grown = new Uint8Array(Math.max(need, buf.length * 2));
            grown.set(buf.subarray(start, end));
            buf = grown;
            view = new DataView(buf.buffer);
          } else {
            buf.copyWithin(0, start, end);
          }
          end -= start;
          start = 0;
        }
        const n = await this.#conn.read(buf.subarray(end));
        if (n === null) return;
        end += n;
        while (end - start >= 4) {
          const len = view.getUint32(start, true);
          if (end - start - 4 < len) break;
          const message = decodeItem(buf.subarray(start + 4, start + 4 + len));
          start += 4 + len;
          try {
            onMessage(message);
          } catch (err) {
            // A listener's bug must not end the channel; report it as
            // an uncaught error, as a Worker's message listener would.
            queueMicrotask(() => {
              throw err;
            });
          }
        }
        if (start === end) start = end = 0;
        need = end - start >= 4 ? view.getUint32(start, true) + 4 : 4;
      }
    } catch {
      // A reset or closed connection ends the channel like EOF.
    } finally {
      this.close();
    }
  }

  /** Lets the connection keep the event loop alive. */
  ref(): void {
    this.#conn.ref();
  }

  /** Stops the connection from keeping the event loop alive. */
  unref(): void {
    this.#conn.unref();
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
