/**
 * The child's side of primitives served by the parent (`"subprocess"`
 * start method; see `_served_spec.ts`). A `Lock`, `Queue`, `Value` …
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
} from "./errors.ts";
import { Empty } from "./errors.ts";
import { Connection } from "./pipe.ts";
import { JoinableQueue, Queue, SimpleQueue } from "./queue.ts";
import { RawArray, RawValue, SharedArray, Value } from "./shared_value.ts";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
} from "./synchronize.ts";
import {
  SERVED,
  SERVED_TAG,
  type ServedData,
  type ServedOp,
  type ServedReply,
  type ServedRequest,
  type SyncAddress,
} from "./_served_spec.ts";
import { encodeFrame } from "./_child_spawn.ts";
import { decodeItem } from "./_ring_codec.ts";
import {
  decodeShared,
  encodeShared,
  kShare,
  registerShareable,
} from "./_transfer.ts";

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
  registerShareable(SERVED_TAG, (data, id) => standIn(data as Data, id));
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

/**
 * Fails every call still waiting for the parent (it is gone).
 *
 * @param why What happened to the channel.
 */
export function failServed(why: string): void {
  for (const p of pending.values()) {
    p.reject(
      new EOFError(
        `Cannot reach the parent process, which serves this primitive: ${why}`,
      ),
    );
  }
  pending.clear();
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

interface Helper {
  port: InstanceType<typeof MessageChannel>["port1"];
  flag: Int32Array;
}

let helper: Helper | undefined;

/**
 * The helper thread's program (run from source, so it needs no read
 * permission and loads no module): it connects to the parent's socket
 * for blocking calls, writes each request frame it is handed, and hands
 * back each reply frame, then sets the flag and wakes the waiting
 * thread. One call is in flight at a time (its caller is blocked). Once
 * the parent is gone, every call is answered at once with `null`, so a
 * blocked child never waits for an answer that cannot come.
 */
function helperMain(wt: typeof import("node:worker_threads")): void {
  const { address, hello, flag, port } = wt.workerData as {
    address: { path?: string; port?: number };
    hello: Uint8Array;
    flag: Int32Array;
    port: MessagePort;
  };
  const answer = (frame: Uint8Array | null) => {
    port.postMessage(frame);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  let conn: Deno.Conn | null = null;
  let gone = false;
  let waiting = false;
  const early: Uint8Array[] = [];
  const writeAll = async (c: Deno.Conn, data: Uint8Array) => {
    for (let off = 0; off < data.length;) {
      off += await c.write(data.subarray(off));
    }
  };
  port.onmessage = (e: MessageEvent<Uint8Array>) => {
    if (gone) return answer(null);
    waiting = true;
    if (conn === null) early.push(e.data);
    else writeAll(conn, e.data).catch(() => {});
  };
  (async () => {
    try {
      const c = address.path !== undefined
        ? await Deno.connect({ transport: "unix", path: address.path })
        : await Deno.connect({ hostname: "127.0.0.1", port: address.port! });
      await writeAll(c, hello);
      for (const f of early.splice(0)) await writeAll(c, f);
      conn = c;
      let buf = new Uint8Array(64 * 1024);
      let end = 0;
      while (true) {
        if (end === buf.length) {
          const grown = new Uint8Array(buf.length * 2);
          grown.set(buf);
          buf = grown;
        }
        const n = await c.read(buf.subarray(end));
        if (n === null) break;
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
          const body = buf.slice(4, 4 + len);
          buf.copyWithin(0, 4 + len, end);
          end -= 4 + len;
          waiting = false;
          answer(body);
        }
      }
    } catch {
      // Refused or reset: the parent is gone.
    }
    gone = true;
    for (const _ of early.splice(0)) answer(null);
    if (waiting) answer(null);
  })();
}

function startHelper(address: SyncAddress): Helper {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const { token, ...where } = address;
  const worker = new Worker(
    `(${helperMain})(require("node:worker_threads"))`,
    {
      eval: true,
      workerData: {
        address: where,
        hello: encodeFrame({ token }),
        flag,
        port: port2,
      },
      // deno-lint-ignore no-explicit-any
      transferList: [port2 as any],
    },
  );
  worker.unref();
  return { port: port1, flag };
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
  Atomics.store(h.flag, 0, 0);
  h.port.postMessage(frame, [frame.buffer as ArrayBuffer]);
  // The helper answers every call (with null once the parent is gone),
  // so this wait ends.
  while (Atomics.load(h.flag, 0) === 0) Atomics.wait(h.flag, 0, 0);
  let got = receiveMessageOnPort(h.port);
  // The reply is posted before the flag is set; allow for a port that
  // shows it a moment later.
  for (let i = 0; got === undefined && i < 1000; i++) {
    Atomics.wait(h.flag, 1, 0, 1);
    got = receiveMessageOnPort(h.port);
  }
  const body = got?.message as Uint8Array | null | undefined;
  if (body == null) {
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
