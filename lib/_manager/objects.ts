/**
 * The objects a manager's server holds, as the server sees them: what a
 * method gets ({@linkcode CallContext}), what a session holds
 * ({@linkcode Held}), the allow-list of methods a client may call on each
 * type ({@linkcode METHODS}) and how each type is made
 * ({@linkcode createObject}). The types themselves are in
 * `objects_containers.ts` (dict, list, Namespace, Value, Array),
 * `objects_sync.ts` (locks, semaphores, Event, Condition) and
 * `objects_queues.ts`; what they share, in `objects_common.ts`.
 *
 * Every method runs to completion on the server's single thread before
 * the next request is looked at, so each call is atomic. Methods that
 * wait (a lock's `acquire`, a queue's `get` …) wait here, on the server,
 * as promises; the client's call is pending meanwhile. A waiter whose
 * connection drops is removed (its `signal` aborts), so a dead process
 * never takes an item or a lock; locks it held are released.
 *
 * @module
 */

import type { TypeId } from "./wire.ts";
import { CONTAINER_TYPES } from "./objects_containers.ts";
import { SYNC_TYPES } from "./objects_sync.ts";
import { QUEUE_TYPES } from "./objects_queues.ts";

/** Something a session holds that must be released when it ends. */
export interface Held {
  /** Releases whatever `session` holds of it. */
  releaseAll(session: Session): void;
}

/** One client connection, as the objects see it. */
export interface Session {
  /** A number unique on this server. */
  readonly id: number;
  /** Aborts when the connection ends. */
  readonly signal: AbortSignal;
  /** Locks this session holds. */
  readonly held: Set<Held>;
}

/** What a method gets besides its arguments. */
export interface CallContext {
  /** The calling connection. */
  session: Session;
  /** Looks up a managed object by id on this server. */
  lookup(id: number): object | undefined;
}

/** A method a client may call: the object, the arguments as sent. */
// deno-lint-ignore no-explicit-any
export type Handler = (obj: any, args: unknown[], ctx: CallContext) => unknown;

/** One type of managed object: how it is made and what may be called. */
export interface ObjectType {
  /**
   * Makes an object from the arguments of `m.<typeid>()`.
   *
   * @throws {TypeError|RangeError} On bad arguments.
   */
  create(args: unknown[], ctx: CallContext): object;
  /** The methods a client may call, by name. */
  methods: Readonly<Record<string, Handler>>;
}

const TYPES: Readonly<Record<TypeId, ObjectType>> = {
  ...CONTAINER_TYPES,
  ...SYNC_TYPES,
  ...QUEUE_TYPES,
};

function allowList(t: ObjectType): ReadonlyMap<string, Handler> {
  return new Map(Object.entries(t.methods));
}

/** The allow-list: the methods a client may call, per type. */
export const METHODS: Readonly<Record<TypeId, ReadonlyMap<string, Handler>>> =
  Object.fromEntries(
    Object.entries(TYPES).map(([id, t]) => [id, allowList(t)]),
  ) as Record<TypeId, ReadonlyMap<string, Handler>>;

/**
 * Makes a managed object of `typeid` from the arguments of `m.<typeid>()`.
 *
 * @param typeid What to make.
 * @param args The constructor arguments, as sent.
 * @param ctx The call's context (to find a Condition's lock).
 * @returns The new object.
 * @throws {TypeError|RangeError} On bad arguments.
 */
export function createObject(
  typeid: TypeId,
  args: unknown[],
  ctx: CallContext,
): object {
  return TYPES[typeid].create(args, ctx);
}
