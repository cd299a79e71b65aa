/**
 * The child's side of primitives served by the parent (`"subprocess"`
 * start method; see `_served/spec.ts`). A `Lock`, `Queue`, `Value` …
 * passed to an OS child arrives as a stand-in: an object of the same
 * class (so `instanceof` holds) whose members ask the parent to act on
 * the real primitive. Async members travel over the process channel;
 * blocking ones (`…Sync`, `value.value`, `a[i]`) through a helper thread
 * (see `helperMain`) while this thread waits, started on the first such
 * call.
 *
 * Errors come back as the classes thrown in the parent (`Empty`, `Full`,
 * `TimeoutError`, `BrokenBarrierError`, `EOFError`, `ValueError`, …).
 *
 * @module
 */

import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import {
  BrokenBarrierError,
  EOFError,
  Full,
  ProcessError,
  TimeoutError,
  ValueError,
} from "../errors.ts";
import { Empty } from "../errors.ts";
import { Connection } from "../pipe.ts";
import { JoinableQueue, Queue, SimpleQueue } from "../queue.ts";
import { RawArray, RawValue, SharedArray, Value } from "../shared_value.ts";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
} from "../synchronize.ts";
import {
  SERVED,
  SERVED_TAG,
  type ServedData,
  type ServedOp,
  type ServedReply,
  type ServedRequest,
  type SyncAddress,
} from "./spec.ts";
import { encodeFrame } from "../_launch/frames.ts";
import { decodeItem } from "../_shm/codec.ts";
import {
  decodeShared,
  encodeShared,
  kShare,
  registerShareable,
} from "../_common/transfer.ts";

/** How the child sends a served call over its process channel. */
export interface ServedTransport {
  /** Sends a request frame (throws `DataCloneError` synchronously). */
  send(request: ServedRequest): void;
}

// deno-lint-ignore no-explicit-any
type Ctor = abstract new (...args: any[]) => unknown;

/** The class of each stand-in, by the real primitive's class name. */
const CLASSES: Record<string, Ctor> = {
  Lock,
  RLock,
  Semaphore,
  BoundedSemaphore,
  Event,
  Condition,
  Barrier,
  Value,
  RawValue,
  SharedArray,
  RawArray,
  Queue,
  JoinableQueue,
  SimpleQueue,
  Connection,
};

/** Errors a served call may throw, rebuilt as their own classes here. */
const ERRORS: Record<string, Ctor> = {
  Empty,
  Full,
  TimeoutError,
  BrokenBarrierError,
  EOFError,
  ValueError,
  ProcessError,
  TypeError,
  RangeError,
};

let transport: ServedTransport | null = null;
let seq = 0;
const pending = new Map<number, PromiseWithResolvers<unknown>>();

/**
 * Makes this process receive served primitives as stand-ins that call the
 * parent over `t`. Called once by the child entry.
 *
 * @param t The process channel.
 */
export function connectServed(t: ServedTransport): void {
  transport = t;
  registerShareable(SERVED_TAG, (data, id) => revive(data as Data, id), {
    cached: false,
  });
}

/** A live stand-in, and how many markers of it this process received. */
interface Held {
  ref: WeakRef<object>;
  count: { sid: string; n: number };
}

const held = new Map<string, Held>();

// When a stand-in is collected, tell the parent how many markers it
// stood for: the parent lets go of its handle once it has sent no more
// than that (a marker still on its way keeps it).
const dropped = new FinalizationRegistry<{ sid: string; n: number }>(
  (count) => {
    if (held.get(count.sid)?.count === count) held.delete(count.sid);
    try {
      transport?.send({
        t: "srv",
        q: 0,
        s: count.sid,
        op: "drop",
        m: "",
        a: [count.n],
      });
    } catch {
      // The channel is gone, and the parent with it.
    }
  },
);

/** The stand-in for a marker: the live one, or a new one. */
function revive(data: Data, sid: string): object {
  const h = held.get(sid);
  const live = h?.ref.deref();
  if (h !== undefined && live !== undefined) {
    h.count.n++;
    return live;
  }
  const obj = standIn(data, sid);
  const count = { sid, n: 1 };
  held.set(sid, { ref: new WeakRef(obj), count });
  dropped.register(obj, count);
  return obj;
}

/**
 * Settles the async call a reply answers.
 *
 * @param reply The parent's reply.
 */
export function onServedReply(reply: ServedReply): void {
  const p = pending.get(reply.q);
  if (p === undefined) return;
  pending.delete(reply.q);
  try {
    if (reply.ok) p.resolve(decodeShared(reply.v));
    else p.reject(remoteError(reply.e!));
  } catch (err) {
    p.reject(err);
  }
}

function remoteError(e: NonNullable<ServedReply["e"]>): Error {
  if (e.name === "DataCloneError") {
    return new DOMException(e.message, "DataCloneError");
  }
  const err = new Error(e.message);
  Object.setPrototypeOf(err, (ERRORS[e.name] ?? Error).prototype);
  err.name = e.name;
  return err;
}

function callAsync(
  sid: string,
  op: ServedOp,
  m: string,
  args: unknown[],
): Promise<unknown> {
  if (transport === null) return Promise.reject(noParent());
  const q = ++seq;
  const p = Promise.withResolvers<unknown>();
  pending.set(q, p);
  try {
    transport.send({
      t: "srv",
      q,
      s: sid,
      op,
      m,
      a: encodeShared(args) as unknown[],
    });
  } catch (err) {
    pending.delete(q);
    return Promise.reject(err);
  }
  return p.promise;
}

/**
 * The shared control words between a child's thread and its helper: the
 * request word (set by the caller), the reply word (set by the helper)
 * and the length of the frame in the shared data buffer.
 */
const REQUEST = 0;
const REPLY = 1;
const LENGTH = 2;
/** A frame is in the data buffer. */
const IN_BUFFER = 1;
/** A frame too big for the buffer went through the port. */
const IN_PORT = 2;
/** The parent is gone: no reply will come. */
const GONE = 3;
/** Bytes of the shared data buffer; bigger frames take the port. */
const DATA_BYTES = 64 * 1024;

interface Helper {
  port: InstanceType<typeof MessageChannel>["port1"];
  ctl: Int32Array;
  data: Uint8Array;
}

let helper: Helper | undefined;

/**
 * The helper thread's program (run from source, so it needs no read
 * permission and loads no module). It connects to the parent's socket for
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
  const answer = (body: Uint8Array) =>
    reply(
      body.length <= data.length ? codes.IN_BUFFER : codes.IN_PORT,
      body,
    );
  const writeAll = async (c: Deno.Conn, bytes: Uint8Array) => {
    for (let off = 0; off < bytes.length;) {
      off += await c.write(bytes.subarray(off));
    }
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
  const read = async (c: Deno.Conn) => {
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
        waiting = false;
        answer(body);
      }
    }
  };
  (async () => {
    try {
      const c = address.path !== undefined
        ? await Deno.connect({ transport: "unix", path: address.path })
        : await Deno.connect({ hostname: "127.0.0.1", port: address.port! });
      await writeAll(c, hello);
      void serve(c);
      await read(c);
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

function startHelper(address: SyncAddress): Helper {
  const { port1, port2 } = new MessageChannel();
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const data = new Uint8Array(new SharedArrayBuffer(DATA_BYTES));
  const { token, ...where } = address;
  const worker = new Worker(
    `(${helperMain})(require("node:worker_threads"))`,
    {
      eval: true,
      workerData: {
        address: where,
        hello: encodeFrame({ token }),
        ctl,
        data,
        port: port2,
        codes: { REQUEST, REPLY, LENGTH, IN_BUFFER, IN_PORT, GONE },
      },
      // deno-lint-ignore no-explicit-any
      transferList: [port2 as any],
    },
  );
  worker.unref();
  return { port: port1, ctl, data };
}

function callSync(
  address: SyncAddress,
  sid: string,
  op: ServedOp,
  m: string,
  args: unknown[],
): unknown {
  if (transport === null) throw noParent();
  const request: ServedRequest = {
    t: "srv",
    q: ++seq,
    s: sid,
    op,
    m,
    a: encodeShared(args) as unknown[],
  };
  const frame = encodeFrame(request);
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
  const reply = decodeItem(body) as ServedReply;
  if (!reply.ok) throw remoteError(reply.e!);
  return decodeShared(reply.v);
}

function noParent(): Error {
  return new TypeError(
    'Cannot use a primitive served by a parent process here: only the "subprocess" process it was sent to can; pass it down from the process that made it',
  );
}

type Data = ServedData & { cls: string };

/** The guard a stand-in's `lock()` returns. */
function guard(target: { release(): void }, ownerDied: boolean) {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    target.release();
  };
  return { ownerDied, release, [Symbol.dispose]: release };
}

type Waiter = {
  wait(timeout?: number | null): unknown;
  waitSync(timeout?: number | null): boolean;
};

async function waitFor<T>(
  cond: Waiter,
  predicate: () => T,
  timeout?: number | null,
): Promise<T> {
  const end = timeout == null ? Infinity : performance.now() + timeout * 1000;
  let result = predicate();
  while (!result) {
    const left = end - performance.now();
    if (left <= 0) break;
    await cond.wait(end === Infinity ? null : left / 1000);
    result = predicate();
  }
  return result;
}

function waitForSync<T>(
  cond: Waiter,
  predicate: () => T,
  timeout?: number | null,
): T {
  const end = timeout == null ? Infinity : performance.now() + timeout * 1000;
  let result = predicate();
  while (!result) {
    const left = end - performance.now();
    if (left <= 0) break;
    cond.waitSync(end === Infinity ? null : left / 1000);
    result = predicate();
  }
  return result;
}

function isIndex(p: string | symbol): p is string {
  return typeof p === "string" && /^(0|[1-9]\d*)$/.test(p);
}

/** Builds the stand-in for a served primitive. */
function standIn(data: Data, sid: string): object {
  const spec = SERVED[data.tag];
  if (spec === undefined) {
    throw new TypeError(
      `Cannot receive a served '${data.tag}': this version of @seed/multiprocessing does not know it; use the same version in parent and child`,
    );
  }
  const sync = data.sync;
  const obj = Object.create(
    (CLASSES[data.cls] ?? Object).prototype,
  ) as Record<string | symbol, unknown>;
  const define = (name: string | symbol, value: unknown) =>
    Object.defineProperty(obj, name, { value, configurable: true });
  for (const [name, kind] of Object.entries(spec.members)) {
    switch (kind) {
      case "async":
        define(name, (...a: unknown[]) => callAsync(sid, "call", name, a));
        break;
      case "sync":
        define(name, (...a: unknown[]) => callSync(sync, sid, "call", name, a));
        break;
      case "blocking": {
        const twin = name.slice(0, -"Sync".length);
        define(name, (...a: unknown[]) => callSync(sync, sid, "call", twin, a));
        break;
      }
      case "get":
      case "getset":
        Object.defineProperty(obj, name, {
          get: () => callSync(sync, sid, "get", name, []),
          set: kind === "getset"
            ? (v: unknown) => void callSync(sync, sid, "set", name, [v])
            : undefined,
          configurable: true,
        });
        break;
      case "lock":
        define(
          name,
          async (o?: unknown) =>
            guard(
              obj as unknown as { release(): void },
              (await callAsync(sid, "lock", "lock", [o])) as boolean,
            ),
        );
        break;
      case "lockSync":
        define(
          name,
          (o?: unknown) =>
            guard(
              obj as unknown as { release(): void },
              callSync(sync, sid, "lock", "lock", [o]) as boolean,
            ),
        );
        break;
      case "waitFor":
        define(
          name,
          (p: () => unknown, t?: number | null) =>
            waitFor(obj as unknown as Waiter, p, t),
        );
        break;
      case "waitForSync":
        define(
          name,
          (p: () => unknown, t?: number | null) =>
            waitForSync(obj as unknown as Waiter, p, t),
        );
        break;
    }
  }
  if (spec.dispose !== undefined) {
    const m = spec.dispose;
    define(Symbol.dispose, () => (obj[m] as () => void)());
  }
  define(kShare, () => ({ tag: SERVED_TAG, id: sid, data }));
  define(
    Symbol.for("Deno.customInspect"),
    () => `${data.cls} (served by the parent process)`,
  );
  if (!spec.indexed) return obj;
  define(Symbol.iterator, function* () {
    yield* (obj.toArray as () => unknown[])();
  });
  return new Proxy(obj, {
    get(target, p, receiver) {
      if (isIndex(p)) return callSync(sync, sid, "call", "get", [Number(p)]);
      return Reflect.get(target, p, receiver);
    },
    set(target, p, v, receiver) {
      if (isIndex(p)) {
        callSync(sync, sid, "call", "set", [Number(p), v]);
        return true;
      }
      return Reflect.set(target, p, v, receiver);
    },
  });
}
