/**
 * What a parent serves to its `"subprocess"` children, and how: the
 * members of every primitive that lives in shared memory, and the frames
 * a child's calls travel in. An OS child shares no memory with its
 * parent, so its `Lock`, `Queue`, `Value` … are stand-ins that ask the
 * parent to act on the real one (`_served/proxy.ts` in the child,
 * `_served/host.ts` in the parent).
 *
 * ```text
 *   child                                    parent
 *   -----                                    ------
 *   await q.get()  ── {t:"srv"} ──sock──►  await q.get() as the child
 *                  ◄─ {t:"srv-r"} ──────   (the process channel)
 *   q.getSync()    ── helper thread ──►    same, over a second socket,
 *     (Atomics.wait)◄──────────────────    while the child's thread blocks
 *   (stand-in collected) ─ {op:"drop"} ─►  lets go of its handle once
 *                                          every marker sent is counted
 * ```
 *
 * @module
 */

/**
 * How a child's stand-in handles a member:
 * - `async`: a call over the process channel; the parent awaits the same
 *   method.
 * - `sync`: a blocking call over the helper's channel; the parent runs
 *   the same method (it does not block).
 * - `blocking`: a `…Sync` twin: blocks the child while the parent awaits
 *   the async twin (the name without `Sync`), so the parent never blocks.
 * - `get`, `getset`: a property read (and write), blocking.
 * - `lock`, `lockSync`: a guard, made in the child around `acquire`.
 * - `waitFor`, `waitForSync`: Condition's loop, run in the child (the
 *   predicate cannot cross).
 */
export type MemberKind =
  | "async"
  | "sync"
  | "blocking"
  | "get"
  | "getset"
  | "lock"
  | "lockSync"
  | "waitFor"
  | "waitForSync";

/** A served class: its members, and what `Symbol.dispose` calls. */
export interface ServedClass {
  /** Members by name. */
  members: Readonly<Record<string, MemberKind>>;
  /** The member `Symbol.dispose` runs (`undefined`: none). */
  dispose?: string;
  /** Whether index access (`a[i]`) and iteration read elements. */
  indexed?: boolean;
  /**
   * What the parent does with a child's handle when the child ends, so
   * that a call it left waiting takes nothing: `close` it (a queue: a
   * waiting `get` rejects before it takes an item), or `cancelWaits` (a
   * pipe end, whose `close()` would close it for everyone).
   */
  onEnd?: "close" | "cancelWaits";
  /**
   * Parent-side calls that leave the primitive held by the caller, which
   * the parent releases again when one completes for a child that has
   * ended: `"ifTrue"` when the call returned `true`, `"always"` whatever
   * it returned (`lock()`, and a condition's `wait`, which takes the lock
   * back even on timeout).
   */
  holds?: Readonly<Record<string, "ifTrue" | "always">>;
}

/** What a lock-like primitive's calls leave held (`ServedClass.holds`). */
const HOLDS = { acquire: "ifTrue", lock: "always" } as const;

const LOCK: Readonly<Record<string, MemberKind>> = {
  acquire: "async",
  acquireSync: "blocking",
  lock: "lock",
  lockSync: "lockSync",
  release: "sync",
};

const QUEUE: Readonly<Record<string, MemberKind>> = {
  maxsize: "get",
  put: "async",
  putNowait: "sync",
  putSync: "blocking",
  get: "async",
  getNowait: "sync",
  getSync: "blocking",
  qsize: "sync",
  empty: "sync",
  full: "sync",
  close: "sync",
  joinThread: "async",
  cancelJoinThread: "sync",
};

const ARRAY: Readonly<Record<string, MemberKind>> = {
  typecode: "get",
  length: "get",
  get: "sync",
  set: "sync",
  slice: "sync",
  toArray: "sync",
};

/** Every class a parent serves, by its share tag. */
export const SERVED: Readonly<Record<string, ServedClass>> = {
  "mp.Lock": {
    members: { ...LOCK, locked: "sync", ownerDied: "get" },
    dispose: "release",
    holds: HOLDS,
  },
  "mp.RLock": {
    members: { ...LOCK, locked: "sync", ownerDied: "get" },
    dispose: "release",
    holds: HOLDS,
  },
  "mp.Semaphore": {
    members: { ...LOCK, getValue: "sync" },
    dispose: "release",
    holds: HOLDS,
  },
  "mp.Event": {
    members: {
      isSet: "sync",
      set: "sync",
      clear: "sync",
      wait: "async",
      waitSync: "blocking",
    },
  },
  "mp.Condition": {
    members: {
      ...LOCK,
      getLock: "sync",
      wait: "async",
      waitSync: "blocking",
      waitFor: "waitFor",
      waitForSync: "waitForSync",
      notify: "sync",
      notifyAll: "sync",
    },
    dispose: "release",
    holds: { ...HOLDS, wait: "always" },
  },
  "mp.Barrier": {
    members: {
      parties: "get",
      nWaiting: "get",
      broken: "get",
      wait: "async",
      waitSync: "blocking",
      // These two take the barrier's lock with a blocking acquire; no
      // wait() holds it across an await (`Condition`'s `#drive`), so the
      // parent only ever waits for another thread's short step.
      reset: "sync",
      abort: "sync",
    },
  },
  "mp.Value": {
    members: {
      typecode: "get",
      value: "getset",
      getLock: "sync",
      getObj: "sync",
    },
  },
  "mp.RawValue": { members: { typecode: "get", value: "getset" } },
  "mp.Array": {
    members: { ...ARRAY, getLock: "sync", getObj: "sync" },
    indexed: true,
  },
  "mp.RawArray": { members: ARRAY, indexed: true },
  "Queue": { members: QUEUE, dispose: "close", onEnd: "close" },
  "JoinableQueue": {
    members: {
      ...QUEUE,
      taskDone: "sync",
      join: "async",
      joinSync: "blocking",
    },
    dispose: "close",
    onEnd: "close",
  },
  "SimpleQueue": {
    members: {
      put: "async",
      putSync: "blocking",
      get: "async",
      getSync: "blocking",
      empty: "sync",
      close: "sync",
    },
    dispose: "close",
    onEnd: "close",
  },
  "Connection": {
    members: {
      readable: "get",
      writable: "get",
      closed: "get",
      send: "async",
      sendSync: "blocking",
      sendBytes: "async",
      sendBytesSync: "blocking",
      recv: "async",
      recvSync: "blocking",
      recvBytes: "async",
      recvBytesSync: "blocking",
      poll: "async",
      pollSync: "blocking",
      close: "sync",
    },
    dispose: "close",
    onEnd: "cancelWaits",
  },
};

/** The share tag of a served stand-in. */
export const SERVED_TAG = "mp.Served";

/** Where a child's helper thread connects for blocking calls. */
export type SyncAddress = ({ path: string } | { port: number }) & {
  /** Proves the connection is the child's. */
  token: string;
};

/** What a served stand-in's marker carries. */
export interface ServedData {
  /** The real primitive's share tag (a key of {@linkcode SERVED}). */
  tag: string;
  /** The parent's channel for blocking calls. */
  sync: SyncAddress;
}

/**
 * What the parent runs for a member: `call` a method, `get` or `set` a
 * property, or `lock` (the `lock()` guard: acquire, and answer whether
 * the previous holder died). `drop` (no reply) says the child's stand-in
 * is gone after it received the primitive `a[0]` times, so the parent
 * can let go of its handle once every marker it sent is accounted for.
 */
export type ServedOp = "call" | "get" | "set" | "lock" | "drop";

/** A child's call, sent to the parent. */
export interface ServedRequest {
  /** Frame kind. */
  t: "srv";
  /** The call's number, echoed by the reply. */
  q: number;
  /** The served primitive (`tag:id`). */
  s: string;
  /** What to do. */
  op: ServedOp;
  /** The method or property name. */
  m: string;
  /** Arguments, passed through `encodeShared`. */
  a: unknown[];
}

/** The parent's answer to a {@linkcode ServedRequest}. */
export interface ServedReply {
  /** Frame kind. */
  t: "srv-r";
  /** The call's number. */
  q: number;
  /** Whether the call returned (else it threw). */
  ok: boolean;
  /** What it returned, passed through `encodeShared` and served. */
  v?: unknown;
  /** What it threw: name, message, stack. */
  e?: { name: string; message: string; stack?: string };
}

/**
 * The parent-side operation for a member, or `undefined` when the child
 * may not ask for it (the allow-list: nothing else on a primitive can be
 * reached from a child, sandboxed or not).
 *
 * @param tag The primitive's share tag.
 * @param op The operation asked for.
 * @param name The member's name as the parent runs it.
 * @returns Whether the request is allowed.
 */
export function allowed(tag: string, op: ServedOp, name: string): boolean {
  const members = SERVED[tag]?.members;
  if (members === undefined) return false;
  switch (op) {
    case "drop":
      return false;
    case "get":
      return members[name] === "get" || members[name] === "getset";
    case "set":
      return members[name] === "getset";
    case "lock":
      return name === "lock" && members.lock === "lock";
    case "call": {
      if (!Object.hasOwn(members, name)) {
        // A `…Sync` twin runs as its async twin in the parent.
        return members[`${name}Sync`] === "blocking";
      }
      const kind = members[name];
      return kind === "async" || kind === "sync";
    }
  }
}
