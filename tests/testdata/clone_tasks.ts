/**
 * Functions the clone tests run in worker and "subprocess" processes.
 *
 * @module
 */

import type { Connection, Queue } from "../../mod.ts";

/** Returns what it was given. */
export function identity(x: unknown): unknown {
  return x;
}

/** Says whether its argument is a one-element array holding itself. */
export function isSelfCycle(x: unknown): boolean {
  return Array.isArray(x) && x.length === 1 && x[0] === x;
}

/** Makes `{ self }`, a cyclic object. */
export function makeCycle(): unknown {
  const o: Record<string, unknown> = { n: 1 };
  o.self = o;
  return o;
}

/** What a received typed array looks like, as structuredClone would give. */
export function describeView(v: ArrayBufferView): {
  own: boolean;
  transferable: boolean;
} {
  const own = v.byteOffset === 0 && v.buffer.byteLength === v.byteLength;
  let transferable = true;
  try {
    structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
  } catch {
    transferable = false;
  }
  return { own, transferable };
}

/** Gets one item and puts back its description (cycle, views, holes). */
export function describeFromQueue(q: Queue, out: Queue): void {
  out.putSync(describeValue(q.getSync({ timeout: 30 })));
}

/** Puts a cyclic value. */
export function putCycle(q: Queue): void {
  q.putSync(makeCycle());
}

/** Receives one message and sends back its description. */
export function describeFromPipe(conn: Connection): void {
  conn.sendSync(describeValue(conn.recvSync({ timeout: 30 })));
}

/** What the clone tests check about a received value. */
export function describeValue(x: unknown): Record<string, unknown> {
  if (Array.isArray(x)) {
    return {
      kind: "array",
      length: x.length,
      holes: Array.from({ length: x.length }, (_, i) => !(i in x)),
      selfCycle: x.includes(x),
    };
  }
  if (ArrayBuffer.isView(x)) return { kind: "view", ...describeView(x) };
  if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    return { kind: "object", selfCycle: o.self === o };
  }
  return { kind: typeof x };
}

/** Puts the queue's own self-holding wrapper's check: `o.self === o`. */
export function useQueueInCycle(o: { q: Queue<string>; self: unknown }): void {
  o.q.putSync(o.self === o ? "cycle kept" : "cycle lost");
}

/** A big view's class, size, whether it owns its buffer, and a checksum. */
export function summarize(v: ArrayBufferView): Record<string, unknown> {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 4093) sum = (sum + bytes[i] * i) % 1e9;
  return {
    type: Object.prototype.toString.call(v),
    byteLength: v.byteLength,
    own: v.byteOffset === 0 && v.buffer.byteLength === v.byteLength,
    last: bytes[bytes.length - 1],
    sum,
  };
}

/**
 * Uses the Lock found in a Map and a Set (and in a Map inside a cycle):
 * each acquires and releases, so a Lock that arrived as a plain object
 * fails here. Returns the Map's keys, in order, to check they stay so.
 */
export function useLocksInCollections(
  m: Map<unknown, unknown>,
  s: Set<unknown>,
  cyc: { self: unknown; inner: Map<string, unknown> },
): unknown[] {
  const locks = [m.get("lock"), [...s][1], cyc.inner.get("lock")];
  for (const l of locks) {
    const lock = l as { acquireSync(): boolean; release(): void };
    if (!lock.acquireSync()) throw new Error("not acquired");
    lock.release();
  }
  if (cyc.self !== cyc) throw new Error("cycle lost");
  return [...m.keys()].map((k) => typeof k === "string" ? k : "lock-key");
}

/**
 * Acquires and releases the lock an instance of a class held when it was
 * sent, and says what arrived: a plain object, as structuredClone makes of
 * a class instance.
 */
export function useLockInInstance(
  job: { name: string; lock: { acquireSync(): boolean; release(): void } },
): { name: string; plain: boolean } {
  if (!job.lock.acquireSync()) throw new Error("not acquired");
  job.lock.release();
  return {
    name: job.name,
    plain: Object.getPrototypeOf(job) === Object.prototype,
  };
}
