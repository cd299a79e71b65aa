/**
 * `Pipe()` and `Connection`: a two-ended channel between processes, as
 * Python's `multiprocessing.Pipe`.
 *
 * ```text
 *  Pipe(true):   a.send ──► ring 1 ──► b.recv
 *                a.recv ◄── ring 2 ◄── b.send
 *  Pipe(false):  [r, w]:  w.send ──► ring ──► r.recv
 * ```
 *
 * Each direction is a shared-memory ring (`_shm/ring.ts`), the same as a
 * queue's, so either end may be passed to any process. `Connection`
 * carries the docs and hands every call to its workings (`_pipe/end.ts`),
 * where each operation is written once for its async and blocking twins.
 *
 * As in Python, each process holds its own handle of an end, and an end
 * is open while some live process holds it. Who holds each end lives in
 * shared memory, in a table of process keys per end (`_pipe/holders.ts`):
 *
 * ```text
 *  holders (Int32Array)  [ end 0: key | key | 0 | … ][ end 1: key | 0 | … ]
 *  Pipe()           puts this process's key in both tables
 *  passing an end   puts the receiving process's key in its table when
 *                   the end is encoded for it (so the sender may close
 *                   its own handle at once, as Python's idiom does), and
 *                   the receiver adds its own key when it revives the end
 *  close()          takes this process's key out of its end's table
 *  a process ends   its key is marked dead in the liveness table
 *                   (`_common/runtime.ts`): its entries no longer count
 * ```
 *
 * An end "has no holder" when no entry of its table names a live process.
 * Then the other end's `recv` throws `EOFError` once drained, and its
 * `send` throws `BrokenPipeError`. Nothing has to run when a process
 * dies: waiters look again at least every 50 ms (`_shm/ring.ts`), and
 * `close()` wakes them at once.
 *
 * @module
 */

import {
  kRevive,
  kShare,
  newShareId,
  rememberShared,
} from "./_common/transfer.ts";
import { type EndState, kEnd, PipeEnd, withEnd } from "./_pipe/end.ts";
// For the links in the docs.
// deno-lint-ignore no-unused-vars
import type { BrokenPipeError, EOFError, TimeoutError } from "./errors.ts";

/** The default ring size of each direction of a pipe, in bytes. */
const DEFAULT_BUFFER_SIZE = 1 << 18;

/** Options of {@linkcode Pipe}. */
export interface PipeOptions {
  /**
   * Size of each direction's shared byte ring, in bytes (rounded up to a
   * power of two). A sender waits when it is full; larger messages go
   * through in chunks.
   *
   * @default {262144}
   */
  bufferSize?: number;
}

/** Options of {@linkcode Connection.recv} and its twins. */
export interface RecvOptions {
  /**
   * Seconds to wait for a message before throwing
   * {@linkcode TimeoutError}; no limit when absent.
   *
   * @default {undefined}
   */
  timeout?: number;
}

/** Ends a served handle's waits (see `Connection[kCancelWaits]`). */
const kCancelWaits: unique symbol = Symbol.for(
  "@seed/multiprocessing.cancelWaits",
);

/**
 * One end of a {@linkcode Pipe}, as Python's `multiprocessing.connection.
 * Connection`: send and receive structured-cloneable values (`send`,
 * `recv`) or raw bytes (`sendBytes`, `recvBytes`).
 *
 * Pass an end to another process in its `args` and it arrives working;
 * as in Python, that process then holds its own handle of the end.
 * `close()` closes this process's handle only, and a process that ends
 * closes its handles. Once no process holds the other end, `recv` throws
 * {@linkcode EOFError} (after every message sent was received) and `send`
 * throws {@linkcode BrokenPipeError}. Python's idiom works: the parent
 * closes its copy of the child's end after starting the child, and its
 * `recv` gets `EOFError` once the child closed it, ended or was killed.
 *
 * The async methods wait without blocking the event loop; the `...Sync`
 * twins block the thread (meant for workers; on the main thread they block
 * the event loop, which Deno allows).
 *
 * @example Usage
 * ```ts
 * import { Pipe } from "@seed/multiprocessing";
 *
 * const [a, b] = Pipe();
 * using _a = a; // `using` closes each end at the end of the scope
 * using _b = b;
 * await a.send({ hello: "world" });
 * console.log(await b.recv()); // { hello: "world" }
 * ```
 */
export class Connection {
  /**
   * This handle's workings (`_pipe/end.ts`).
   *
   * @ignore
   */
  declare readonly [kEnd]: PipeEnd;

  /**
   * Not for direct use: call {@linkcode Pipe}.
   *
   * @throws {TypeError} Always, unless called by `Pipe()` or when an end
   * arrives in another process.
   */
  constructor() {
    throw new TypeError(
      "Cannot make a Connection: use Pipe() to make a connected pair",
    );
  }

  /**
   * Builds a handle of an end, described by {@linkcode Pipe} or by
   * another process with {@linkcode Connection[kShare]} (see
   * `_launch/shareables.ts`): this process holds the end from now on.
   *
   * @param data The end's state.
   * @param id The end's share id.
   * @returns A handle of the end.
   * @throws {RangeError} When the end is held by too many live processes.
   */
  static [kRevive](data: unknown, id: string): Connection {
    const c = Object.create(Connection.prototype) as Connection;
    withEnd(c, new PipeEnd(data as EndState, id));
    rememberShared("Connection", id, c);
    return c;
  }

  /**
   * Describes this end for another process (see `_common/transfer.ts`).
   *
   * @returns The descriptor: the rings' shared buffers.
   */
  [kShare](holder?: number): { tag: string; id: string; data: unknown } {
    const end = this[kEnd];
    return { tag: "Connection", id: end.id, data: end.state(holder) };
  }

  /** Whether this end can receive (`false` for a one-way pipe's sender). */
  get readable(): boolean {
    return this[kEnd].readable;
  }

  /** Whether this end can send (`false` for a one-way pipe's receiver). */
  get writable(): boolean {
    return this[kEnd].writable;
  }

  /** Whether this handle was closed (by `close()` in this process). */
  get closed(): boolean {
    return this[kEnd].closed;
  }

  /**
   * Sends `obj` to the other end, waiting while the channel is full.
   *
   * Cancellation: `close()` on this handle rejects a waiting send. There
   * is no timeout: the receiver drains or closes.
   *
   * @param obj Any structured-cloneable value.
   * @returns A promise that resolves once the message is in the channel.
   * @throws {BrokenPipeError} When no process holds the other end.
   * @throws {Error} When this end is closed or cannot send.
   * @throws {DOMException} `DataCloneError` when `obj` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * await a.send(new Map([["k", 1n]]));
   * console.log(await b.recv()); // Map(1) { "k" => 1n }
   * a.close();
   * b.close();
   * ```
   */
  send(obj: unknown): Promise<void> {
    return this[kEnd].send(obj);
  }

  /**
   * Sends `obj`, blocking the thread while the channel is full. A blocked
   * call cannot be cancelled; it ends when the receiver drains or closes.
   *
   * @param obj Any structured-cloneable value.
   * @throws {BrokenPipeError} When no process holds the other end.
   * @throws {Error} When this end is closed or cannot send.
   * @throws {DOMException} `DataCloneError` when `obj` cannot be cloned.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [r, w] = Pipe(false);
   * w.sendSync([1, "two"]);
   * console.log(r.recvSync()); // [1, "two"]
   * r.close();
   * w.close();
   * ```
   */
  sendSync(obj: unknown): void {
    this[kEnd].sendSync(obj);
  }

  /**
   * Sends bytes (`buf`, or `size` bytes of it from `offset`) as one
   * message, waiting while the channel is full. Cancellation as
   * {@linkcode Connection.send}.
   *
   * @param buf The bytes (copied).
   * @param offset Where to start in `buf`.
   * @param size How many bytes; the rest of `buf` when absent.
   * @returns A promise that resolves once the message is in the channel.
   * @throws {RangeError} When `offset`/`size` fall outside `buf`.
   * @throws {BrokenPipeError} When no process holds the other end.
   * @throws {Error} When this end is closed or cannot send.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * await a.sendBytes(new TextEncoder().encode("hi"));
   * console.log(new TextDecoder().decode(await b.recvBytes())); // "hi"
   * a.close();
   * b.close();
   * ```
   */
  sendBytes(
    buf: ArrayBufferView | ArrayBuffer,
    offset = 0,
    size?: number,
  ): Promise<void> {
    return this[kEnd].sendBytes(buf, offset, size);
  }

  /**
   * Sends bytes as one message, blocking the thread while the channel is
   * full (see {@linkcode Connection.sendBytes}).
   *
   * @param buf The bytes (copied).
   * @param offset Where to start in `buf`.
   * @param size How many bytes; the rest of `buf` when absent.
   * @throws {RangeError} When `offset`/`size` fall outside `buf`.
   * @throws {BrokenPipeError} When no process holds the other end.
   * @throws {Error} When this end is closed or cannot send.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * a.sendBytesSync(new Uint8Array([1, 2, 3]), 1);
   * console.log(b.recvBytesSync()); // Uint8Array(2) [ 2, 3 ]
   * a.close();
   * b.close();
   * ```
   */
  sendBytesSync(
    buf: ArrayBufferView | ArrayBuffer,
    offset = 0,
    size?: number,
  ): void {
    this[kEnd].sendBytesSync(buf, offset, size);
  }

  /**
   * Receives the next message, waiting for one. A message sent with
   * `sendBytes` arrives as a `Uint8Array`.
   *
   * Timeout: with `timeout`, rejects with {@linkcode TimeoutError} once that
   * many seconds passed (Python's `recv` has none; `poll` first is the
   * Python way). Cancellation: `close()` on this handle rejects it.
   *
   * @param options How long to wait.
   * @returns A promise of the message.
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { EOFError, Pipe } from "@seed/multiprocessing";
   *
   * const [r, w] = Pipe(false);
   * await w.send("last");
   * w.close();
   * console.log(await r.recv()); // "last"
   * await r.recv().catch((e) => console.log(e instanceof EOFError)); // true
   * r.close();
   * ```
   */
  recv(options: RecvOptions = {}): Promise<unknown> {
    return this[kEnd].recv(options);
  }

  /**
   * Receives the next message, blocking the thread until there is one.
   * A blocked call cannot be cancelled.
   *
   * @param options How long to wait.
   * @returns The message.
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * b.sendSync(new Date(0));
   * console.log(a.recvSync({ timeout: 1 })); // 1970-01-01T00:00:00.000Z
   * a.close();
   * b.close();
   * ```
   */
  recvSync(options: RecvOptions = {}): unknown {
    return this[kEnd].recvSync(options);
  }

  /**
   * Receives the next message as bytes (a message sent with `send` comes
   * in its encoded form). Waits as {@linkcode Connection.recv}.
   *
   * @param maxlength The longest message accepted.
   * @param options How long to wait.
   * @returns A promise of the bytes.
   * @throws {RangeError} When the message is longer than `maxlength` (it
   * is dropped).
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * await b.sendBytes(new Uint8Array([7]));
   * console.log(await a.recvBytes()); // Uint8Array(1) [ 7 ]
   * a.close();
   * b.close();
   * ```
   */
  recvBytes(
    maxlength?: number,
    options: RecvOptions = {},
  ): Promise<Uint8Array> {
    return this[kEnd].recvBytes(maxlength, options);
  }

  /**
   * Receives the next message as bytes, blocking the thread (see
   * {@linkcode Connection.recvBytes}).
   *
   * @param maxlength The longest message accepted.
   * @param options How long to wait.
   * @returns The bytes.
   * @throws {RangeError} When the message is longer than `maxlength` (it
   * is dropped).
   * @throws {EOFError} When no process holds the other end and nothing is
   * left.
   * @throws {TimeoutError} When nothing came within the timeout.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * b.sendBytesSync(new Uint8Array([7, 8]));
   * console.log(a.recvBytesSync(2)); // Uint8Array(2) [ 7, 8 ]
   * a.close();
   * b.close();
   * ```
   */
  recvBytesSync(maxlength?: number, options: RecvOptions = {}): Uint8Array {
    return this[kEnd].recvBytesSync(maxlength, options);
  }

  /**
   * Whether a message (or EOF) is ready to receive, waiting up to
   * `timeout` seconds for one: at once when absent (as Python), forever
   * when `null`. Cancellation: `close()` on this handle resolves it with
   * `false`.
   *
   * @param timeout Seconds to wait; `null` for no limit; a negative value
   *   does not wait (as in Python).
   * @returns A promise of `true` when `recv` would not wait.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * console.log(await a.poll(0.01)); // false
   * await b.send(1);
   * console.log(await a.poll()); // true
   * a.close();
   * b.close();
   * ```
   */
  poll(timeout?: number | null): Promise<boolean> {
    return this[kEnd].poll(timeout);
  }

  /**
   * Whether a message (or EOF) is ready, blocking the thread up to
   * `timeout` seconds (see {@linkcode Connection.poll}).
   *
   * @param timeout Seconds to wait; `null` for no limit; a negative value
   *   does not wait (as in Python).
   * @returns `true` when `recv` would not wait.
   * @throws {Error} When this end is closed or cannot receive.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * console.log(a.pollSync()); // false
   * a.close();
   * b.close();
   * ```
   */
  pollSync(timeout?: number | null): boolean {
    return this[kEnd].pollSync(timeout);
  }

  /**
   * Closes this process's handle of this end (Python's `close`); other
   * processes' handles stay open. Once no process holds this end, the
   * other end's `recv` throws {@linkcode EOFError} after it has read what
   * was sent, and its `send` throws {@linkcode BrokenPipeError}. Waits of
   * this handle end (receives and sends reject, polls resolve `false`).
   * Closing twice is harmless.
   *
   * @example Usage
   * ```ts
   * import { Pipe } from "@seed/multiprocessing";
   *
   * const [a, b] = Pipe();
   * a.close();
   * console.log(a.closed); // true
   * b.close();
   * ```
   */
  close(): void {
    this[kEnd].close();
  }

  /** Closes this end; same as {@linkcode Connection.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Ends the waits of this handle (and its later ones) without closing
   * the connection: a parent serving this end to a `"subprocess"` child
   * that died calls it, so a `recv` the child left waiting takes nothing
   * that another reader of this end would have got.
   *
   * @internal
   */
  [kCancelWaits](): void {
    this[kEnd].cancelWaits();
  }
}

/**
 * Makes a pipe: two connected {@linkcode Connection} ends, as Python's
 * `multiprocessing.Pipe`. Duplex by default (each end sends and
 * receives); with `duplex = false`, the first end only receives and the
 * second only sends (Python's order: `const [r, w] = Pipe(false)`).
 *
 * @param duplex Whether both ends send and receive.
 * @param options The size of each direction's ring.
 * @returns The two ends.
 * @throws {RangeError} When `bufferSize` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { Pipe } from "@seed/multiprocessing";
 *
 * const [r, w] = Pipe(false);
 * await w.send("ping");
 * console.log(await r.recv(), r.writable, w.readable); // "ping" false false
 * r.close();
 * w.close();
 * ```
 */
export function Pipe(
  duplex = true,
  options: PipeOptions = {},
): [Connection, Connection] {
  const [a, b] = PipeEnd.pair(
    duplex,
    options.bufferSize ?? DEFAULT_BUFFER_SIZE,
  );
  return [
    Connection[kRevive](a, newShareId()),
    Connection[kRevive](b, newShareId()),
  ];
}
