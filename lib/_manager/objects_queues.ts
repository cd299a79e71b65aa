/**
 * The manager's queues on the server: `Queue` and `JoinableQueue`. A
 * blocked `get` or `put` waits here; an item handed to a waiting getter
 * skips the queue.
 *
 * @module
 */

import { Empty, Full, ValueError } from "../errors.ts";
import {
  type BlockOptions,
  blockOptions,
  intArg,
  Waiters,
} from "./objects_common.ts";
import type { Handler, ObjectType, Session } from "./objects.ts";

// --- Queues -------------------------------------------------------------

/** A managed `Queue` or `JoinableQueue`. */
export class QueueObj {
  items: unknown[] = [];
  head = 0;
  unfinished = 0;
  readonly getters: Waiters<unknown> = new Waiters();
  readonly putters: Waiters<void> = new Waiters();
  readonly joiners: Waiters<void> = new Waiters();
  /**
   * @param maxsize The most items it holds (`<= 0`: unbounded).
   * @param joinable Whether it is a `JoinableQueue`.
   */
  constructor(readonly maxsize: number, readonly joinable: boolean) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get isFull(): boolean {
    return this.maxsize > 0 && this.size >= this.maxsize;
  }

  push(item: unknown): void {
    this.items.push(item);
    this.unfinished++;
  }

  shift(): unknown {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact now and then so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

async function queuePut(
  o: QueueObj,
  item: unknown,
  opts: BlockOptions,
  session: Session,
): Promise<void> {
  const getter = o.getters.first();
  if (getter !== undefined) {
    // Someone waits on an empty queue: hand the item over directly.
    o.unfinished++;
    getter.grant(item);
    return;
  }
  if (!o.isFull) {
    o.push(item);
    return;
  }
  if (!opts.block) throw new Full("Cannot put an item: the queue is full");
  // The getter that makes room pushes our item for us (see queueGet).
  const r = await o.putters.wait(session, opts.timeout, { item });
  if (!r.ok) {
    throw new Full(
      `Cannot put an item: the queue stayed full for ${opts.timeout}s`,
    );
  }
}

async function queueGet(
  o: QueueObj,
  opts: BlockOptions,
  session: Session,
): Promise<unknown> {
  if (o.size > 0) {
    const item = o.shift();
    const putter = o.putters.first();
    if (putter !== undefined) {
      o.push((putter.data as { item: unknown }).item);
      putter.grant();
    }
    return item;
  }
  if (!opts.block) throw new Empty("Cannot get an item: the queue is empty");
  const r = await o.getters.wait(session, opts.timeout);
  if (!r.ok) {
    throw new Empty(
      `Cannot get an item: the queue stayed empty for ${opts.timeout}s`,
    );
  }
  return r.value;
}

const queueMethods: Record<string, Handler> = {
  put: (o: QueueObj, [item, opts], ctx) =>
    queuePut(o, item, blockOptions(opts, "put an item"), ctx.session),
  get: (o: QueueObj, [opts], ctx) =>
    queueGet(o, blockOptions(opts, "get an item"), ctx.session),
  putNowait: (o: QueueObj, [item], ctx) =>
    queuePut(o, item, { block: false, timeout: null }, ctx.session),
  getNowait: (o: QueueObj, _args, ctx) =>
    queueGet(o, { block: false, timeout: null }, ctx.session),
  qsize: (o: QueueObj) => o.size,
  empty: (o: QueueObj) => o.size === 0,
  full: (o: QueueObj) => o.isFull,
};

const joinableQueueMethods: Record<string, Handler> = {
  ...queueMethods,
  taskDone(o: QueueObj) {
    if (o.unfinished <= 0) {
      throw new ValueError(
        "Cannot call taskDone(): it was called more times than items were put",
      );
    }
    if (--o.unfinished === 0) o.joiners.grantAll();
  },
  async join(o: QueueObj, _args, ctx) {
    if (o.unfinished === 0) return;
    await o.joiners.wait(ctx.session, null);
  },
};

function maxsizeArg(v: unknown): number {
  return v === undefined ? 0 : intArg(v, "maxsize", "make a queue");
}

/** The queues: how each is made and what may be called on it. */
export const QUEUE_TYPES: Readonly<
  Record<"Queue" | "JoinableQueue", ObjectType>
> = {
  Queue: {
    create: (args) => new QueueObj(maxsizeArg(args[0]), false),
    methods: queueMethods,
  },
  JoinableQueue: {
    create: (args) => new QueueObj(maxsizeArg(args[0]), true),
    methods: joinableQueueMethods,
  },
};
