/**
 * The manager's synchronization primitives on the server: `Lock` and
 * `RLock` (owned by a session, released when it ends), `Semaphore`,
 * `BoundedSemaphore`, `Event` and `Condition`. Waiting calls wait here, in
 * FIFO order.
 *
 * @module
 */

import { ValueError } from "../errors.ts";
import { Ref } from "./wire.ts";
import {
  type BlockOptions,
  blockOptions,
  intArg,
  timeoutArg,
  Waiters,
} from "./objects_common.ts";
import type {
  CallContext,
  Handler,
  Held,
  ObjectType,
  Session,
} from "./objects.ts";

// --- Locks and semaphores -----------------------------------------------

/** A managed `Lock` or `RLock`. The owner is a session (a process). */
export class LockObj implements Held {
  owner: Session | null = null;
  count = 0;
  readonly waiters: Waiters<void> = new Waiters();

  /** @param reentrant Whether it is an `RLock`. */
  constructor(readonly reentrant: boolean) {}

  get name(): string {
    return this.reentrant ? "rlock" : "lock";
  }

  #take(session: Session): void {
    this.owner = session;
    this.count = 1;
    session.held.add(this);
  }

  /** Acquires for `session`; resolves whether it got the lock. */
  async acquire(session: Session, opts: BlockOptions): Promise<boolean> {
    if (this.owner === null) {
      this.#take(session);
      return true;
    }
    if (this.reentrant && this.owner === session) {
      this.count++;
      return true;
    }
    if (!opts.block) return false;
    // The releaser hands the lock straight to us (see #handOff).
    const r = await this.waiters.wait(session, opts.timeout);
    return r.ok;
  }

  /** Releases one level; `session` must own it if it is an `RLock`. */
  release(session: Session): void {
    if (this.owner === null) {
      throw new ValueError(`Cannot release the ${this.name}: it is not locked`);
    }
    if (this.reentrant && this.owner !== session) {
      throw new ValueError(
        "Cannot release the rlock: this process does not hold it",
      );
    }
    if (--this.count === 0) this.handOff();
  }

  /** Gives the lock to the longest waiter, or unlocks it. */
  handOff(): void {
    this.owner?.held.delete(this);
    this.owner = null;
    this.count = 0;
    const w = this.waiters.first();
    if (w !== undefined) {
      this.#take(w.session);
      w.grant();
    }
  }

  /** Frees the lock if `session` (which ended) held it. */
  releaseAll(session: Session): void {
    if (this.owner === session) this.handOff();
  }
}

const lockMethods: Record<string, Handler> = {
  acquire: (o: LockObj, [opts], ctx) =>
    o.acquire(
      ctx.session,
      blockOptions(opts, `acquire the ${o.name}`, "reject", true),
    ),
  release(o: LockObj, _args, ctx) {
    o.release(ctx.session);
  },
  locked: (o: LockObj) => o.owner !== null,
};

/** A managed `Semaphore` or `BoundedSemaphore`. */
export class SemaphoreObj {
  readonly waiters: Waiters<void> = new Waiters();
  /**
   * @param value The counter.
   * @param bound The upper bound (`BoundedSemaphore`), or `null`.
   */
  constructor(public value: number, readonly bound: number | null) {}
}

const semaphoreMethods: Record<string, Handler> = {
  async acquire(o: SemaphoreObj, [opts], ctx) {
    const { block, timeout } = blockOptions(
      opts,
      "acquire the semaphore",
      "zero",
      true,
    );
    if (o.value > 0) {
      o.value--;
      return true;
    }
    if (!block) return false;
    return (await o.waiters.wait(ctx.session, timeout)).ok;
  },
  release(o: SemaphoreObj, [n]) {
    const k = n === undefined ? 1 : intArg(n, "n", "release the semaphore");
    if (k < 1) {
      throw new RangeError("Cannot release the semaphore: n must be >= 1");
    }
    if (o.bound !== null && o.value + k > o.bound) {
      throw new ValueError(
        "Cannot release the semaphore: it would go above its initial value",
      );
    }
    for (let i = 0; i < k; i++) {
      // A waiter takes the unit directly, so the counter stays as it is.
      if (!o.waiters.grantFirst()) o.value++;
    }
  },
  getValue: (o: SemaphoreObj) => o.value,
};

// --- Event and Condition ------------------------------------------------

/** A managed `Event`. */
export class EventObj {
  flag = false;
  readonly waiters: Waiters<void> = new Waiters();
}

const eventMethods: Record<string, Handler> = {
  set(o: EventObj) {
    o.flag = true;
    o.waiters.grantAll();
  },
  clear(o: EventObj) {
    o.flag = false;
  },
  isSet: (o: EventObj) => o.flag,
  async wait(o: EventObj, [t], ctx) {
    if (o.flag) return true;
    const timeout = timeoutArg(t, "wait for the event", "zero");
    return (await o.waiters.wait(ctx.session, timeout)).ok || o.flag;
  },
};

/** A managed `Condition` over a managed lock. */
export class ConditionObj {
  readonly waiters: Waiters<void> = new Waiters();
  /** @param lock Its lock. */
  constructor(readonly lock: LockObj) {}
}

function checkOwned(o: ConditionObj, session: Session, action: string): void {
  if (o.lock.owner !== session) {
    throw new ValueError(
      `Cannot ${action}: this process does not hold the condition's lock`,
    );
  }
}

const conditionMethods: Record<string, Handler> = {
  // A condition's acquire and release act on its lock.
  acquire: (o: ConditionObj, args, ctx) =>
    lockMethods.acquire(o.lock, args, ctx),
  release(o: ConditionObj, _args, ctx) {
    o.lock.release(ctx.session);
  },
  async wait(o: ConditionObj, [t], ctx) {
    const timeout = timeoutArg(t, "wait on the condition", "zero");
    checkOwned(o, ctx.session, "wait on the condition");
    const saved = o.lock.count;
    o.lock.handOff();
    const r = await o.waiters.wait(ctx.session, timeout);
    if (ctx.session.signal.aborted) return false;
    await o.lock.acquire(ctx.session, { block: true, timeout: null });
    o.lock.count = saved;
    return r.ok;
  },
  notify(o: ConditionObj, [n], ctx) {
    checkOwned(o, ctx.session, "notify");
    const k = n === undefined ? 1 : intArg(n, "n", "notify");
    for (let i = 0; i < k; i++) if (!o.waiters.grantFirst()) break;
  },
  notifyAll(o: ConditionObj, _args, ctx) {
    checkOwned(o, ctx.session, "notify");
    o.waiters.grantAll();
  },
};

function semaphoreValue(v: unknown): number {
  const n = v === undefined ? 1 : intArg(v, "value", "make a semaphore");
  if (n < 0) {
    throw new RangeError("Cannot make a semaphore: the value must be >= 0");
  }
  return n;
}

function makeCondition(args: unknown[], ctx: CallContext): ConditionObj {
  const arg = args[0];
  if (arg === undefined || arg === null) {
    return new ConditionObj(new LockObj(true));
  }
  const lock = arg instanceof Ref && arg.data.address === undefined
    ? ctx.lookup(arg.data.id)
    : undefined;
  if (!(lock instanceof LockObj)) {
    throw new TypeError(
      "Cannot make a Condition: its lock must be a Lock or RLock of the same manager",
    );
  }
  return new ConditionObj(lock);
}

/** The primitives: how each is made and what may be called on it. */
export const SYNC_TYPES: Readonly<
  Record<
    | "Lock"
    | "RLock"
    | "Semaphore"
    | "BoundedSemaphore"
    | "Event"
    | "Condition",
    ObjectType
  >
> = {
  Lock: { create: () => new LockObj(false), methods: lockMethods },
  RLock: { create: () => new LockObj(true), methods: lockMethods },
  Semaphore: {
    create: (args) => new SemaphoreObj(semaphoreValue(args[0]), null),
    methods: semaphoreMethods,
  },
  BoundedSemaphore: {
    create(args) {
      const v = semaphoreValue(args[0]);
      return new SemaphoreObj(v, v);
    },
    methods: semaphoreMethods,
  },
  Event: { create: () => new EventObj(), methods: eventMethods },
  Condition: { create: makeCondition, methods: conditionMethods },
};
