/**
 * How a child's blocking served calls (`…Sync`, `value.value`, `a[i]`)
 * reach the parent while this thread waits: a helper thread, started on
 * the first such call, owns a socket to the parent; the waiting thread
 * hands it a request frame through shared memory and sleeps in
 * `Atomics.wait` until the reply frame's body is back.
 *
 * ```text
 *  this thread                     helper thread              parent
 *  frame ─► data + ctl[REQUEST] ─► waitAsync wakes ─► write ─► socket
 *  Atomics.wait(ctl[REPLY])   ◄─── data + ctl[REPLY] ◄─ read ◄─ reply frame
 * ```
 *
 * May import: `_launch/` (framing). It knows frames, not what they mean.
 *
 * @module
 */

import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import { EOFError } from "../errors.ts";
import { encodeFrame } from "../_launch/frames.ts";
import type { SyncAddress } from "./spec.ts";

/**
 * The words of the shared control array `ctl` (`REQUEST`, set by the
 * caller; `REPLY`, set by the helper; `LENGTH` of the frame in the shared
 * data buffer), and the values of the first two: where the frame is
 * (`IN_BUFFER`, or `IN_PORT` for one too big for the buffer) or `GONE`
 * (the parent is gone: no reply will come). The helper gets them as
 * `codes`.
 */
const CODES = {
  REQUEST: 0,
  REPLY: 1,
  LENGTH: 2,
  IN_BUFFER: 1,
  IN_PORT: 2,
  GONE: 3,
} as const;
const { REQUEST, REPLY, LENGTH, IN_BUFFER, IN_PORT } = CODES;

/** Bytes of the shared data buffer; bigger frames take the port. */
const DATA_BYTES = 64 * 1024;

interface Helper {
  port: InstanceType<typeof MessageChannel>["port1"];
  ctl: Int32Array;
  data: Uint8Array;
}

let helper: Helper | undefined;

/**
 * Sends one request frame to the parent and waits, blocking this thread,
 * for the body of its reply.
 *
 * @param address The parent's socket for blocking calls.
 * @param frame The request, from `encodeFrame` (owning its whole buffer).
 * @returns The reply frame's body.
 * @throws {EOFError} The parent is gone.
 */
export function sendBlocking(
  address: SyncAddress,
  frame: Uint8Array,
): Uint8Array {
  const h = helper ??= startHelper(address);
  const { ctl, data } = h;
  Atomics.store(ctl, REPLY, 0);
  if (frame.length <= data.length) {
    data.set(frame);
    Atomics.store(ctl, LENGTH, frame.length);
    Atomics.store(ctl, REQUEST, IN_BUFFER);
  } else {
    // The frame owns its whole buffer (see `encodeFrame`).
    const bytes = frame.buffer as ArrayBuffer;
    h.port.postMessage(bytes, [bytes]);
    Atomics.store(ctl, REQUEST, IN_PORT);
  }
  Atomics.notify(ctl, REQUEST);
  // The helper answers every call (with GONE once the parent is gone),
  // so this wait ends.
  let how: number;
  while ((how = Atomics.load(ctl, REPLY)) === 0) {
    Atomics.wait(ctl, REPLY, 0);
  }
  let body: Uint8Array | undefined;
  if (how === IN_BUFFER) {
    body = data.slice(0, Atomics.load(ctl, LENGTH));
  } else if (how === IN_PORT) {
    const bytes = receiveMessageOnPort(h.port)?.message as ArrayBuffer;
    if (bytes !== undefined) body = new Uint8Array(bytes);
  }
  if (body === undefined) {
    throw new EOFError(
      "Cannot reach the parent process, which serves this primitive: it is gone",
    );
  }
  return body;
}

function startHelper(address: SyncAddress): Helper {
  const { port1, port2 } = new MessageChannel();
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const data = new Uint8Array(new SharedArrayBuffer(DATA_BYTES));
  const { token, ...where } = address;
  const worker = new Worker(HELPER_SOURCE, {
    eval: true,
    workerData: {
      address: where,
      hello: encodeFrame({ token }),
      ctl,
      data,
      port: port2,
      codes: CODES,
    },
    // deno-lint-ignore no-explicit-any
    transferList: [port2 as any],
  });
  worker.unref();
  return { port: port1, ctl, data };
}

// The helper thread runs from source (so it needs no read permission and
// loads no module): the functions below are self-contained but for each
// other, and are joined into its program.

/**
 * The helper thread's program. It connects to the parent's socket for
 * blocking calls; for each request the waiting thread signals in `ctl`,
 * it writes the request frame (from `data`, or the port when it was too
 * big) to the socket, then puts the reply frame's body back the same way
 * and wakes the waiting thread. Shared memory and `Atomics.waitAsync`
 * hand a call over in about 10 µs, where a `MessagePort` takes about 70.
 * A frame too big for the shared buffer crosses the port as its bare
 * `ArrayBuffer`, transferred: Deno's `receiveMessageOnPort` takes about
 * 300 ns per byte to receive a typed-array view (5 s for 16 MiB, even
 * transferred or shared), and no time for the buffer itself.
 * One call is in flight at a time (its caller is blocked). Once the
 * parent is gone every call is answered at once with `GONE`, so a
 * blocked child never waits for an answer that cannot come.
 */
function helperMain(wt: typeof import("node:worker_threads")): void {
  const { address, hello, ctl, data, port, codes } = wt.workerData as {
    address: { path?: string; port?: number };
    hello: Uint8Array;
    ctl: Int32Array;
    data: Uint8Array;
    port: MessagePort;
    codes: Record<string, number>;
  };
  const reply = (code: number, body?: Uint8Array) => {
    if (body !== undefined && code === codes.IN_BUFFER) {
      data.set(body);
      Atomics.store(ctl, codes.LENGTH, body.length);
    } else if (body !== undefined) {
      // The buffer, not the view (see above).
      const bytes = body.buffer as ArrayBuffer;
      port.postMessage(bytes, [bytes]);
    }
    Atomics.store(ctl, codes.REPLY, code);
    Atomics.notify(ctl, codes.REPLY);
  };
  let gone = false;
  let waiting = false;
  const request = (): Uint8Array => {
    const how = Atomics.exchange(ctl, codes.REQUEST, 0);
    if (how === codes.IN_BUFFER) {
      return data.slice(0, Atomics.load(ctl, codes.LENGTH));
    }
    return new Uint8Array(
      wt.receiveMessageOnPort(port as never)!.message as ArrayBuffer,
    );
  };
  const serve = async (c: Deno.Conn) => {
    while (!gone) {
      const w = Atomics.waitAsync(ctl, codes.REQUEST, 0);
      if (w.async) await w.value;
      if (gone) break;
      if (Atomics.load(ctl, codes.REQUEST) === 0) continue;
      const frame = request();
      waiting = true;
      await writeAll(c, frame).catch(() => {});
    }
  };
  (async () => {
    try {
      const c = address.path !== undefined
        ? await Deno.connect({ transport: "unix", path: address.path })
        : await Deno.connect({ hostname: "127.0.0.1", port: address.port! });
      await writeAll(c, hello);
      void serve(c);
      await readFrames(c, (body) => {
        waiting = false;
        reply(
          body.length <= data.length ? codes.IN_BUFFER : codes.IN_PORT,
          body,
        );
      });
    } catch {
      // Refused or reset: the parent is gone.
    }
    gone = true;
    // Answer the call in flight, and every later one, with GONE.
    if (waiting) reply(codes.GONE);
    while (true) {
      const w = Atomics.waitAsync(ctl, codes.REQUEST, 0);
      if (w.async) await w.value;
      Atomics.store(ctl, codes.REQUEST, 0);
      reply(codes.GONE);
    }
  })();
  // Atomics.waitAsync alone does not keep a Deno event loop alive.
  setInterval(() => {}, 1 << 30);
}

/** Writes all of `bytes` to `c` (part of the helper's program). */
async function writeAll(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    off += await c.write(bytes.subarray(off));
  }
}

/**
 * Reads length-prefixed frames from `c` until it ends, handing each body
 * (owning its whole buffer) to `onBody` (part of the helper's program).
 */
async function readFrames(
  c: Deno.Conn,
  onBody: (body: Uint8Array) => void,
): Promise<void> {
  let buf = new Uint8Array(64 * 1024);
  let end = 0;
  while (true) {
    if (end === buf.length) {
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf);
      buf = grown;
    }
    const n = await c.read(buf.subarray(end));
    if (n === null) return;
    end += n;
    while (end >= 4) {
      const len = new DataView(buf.buffer).getUint32(0, true);
      if (end - 4 < len) {
        if (len + 4 > buf.length) {
          const grown = new Uint8Array(len + 4);
          grown.set(buf.subarray(0, end));
          buf = grown;
        }
        break;
      }
      const body = buf.slice(4, 4 + len); // owns its whole buffer
      buf.copyWithin(0, 4 + len, end);
      end -= 4 + len;
      onBody(body);
    }
  }
}

/** The helper thread's program, from the functions above. */
const HELPER_SOURCE =
  `${writeAll}\n${readFrames}\n(${helperMain})(require("node:worker_threads"));`;
