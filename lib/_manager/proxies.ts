/**
 * Which proxy class each managed type gets, and the two ways a proxy is
 * made: from a reference in a call's result ({@linkcode PROXY_CODEC}, passed
 * with every call) and from a descriptor that crossed to this process
 * ({@linkcode reviveProxy}, registered under `PROXY_TAG`).
 *
 * @module
 */

import { type ProxyCodec, ServerId } from "./client.ts";
import { type TypeId, TYPEIDS } from "./wire.ts";
import { fromBase64 } from "./values.ts";
import {
  BaseProxy,
  kMake,
  type ProxyClass,
  type ProxyState,
  stateOf,
} from "./proxy.ts";
import { DictProxy, NamespaceProxy } from "./proxies_dict.ts";
import { ArrayProxy, ListProxy, ValueProxy } from "./proxies_list.ts";
import {
  ConditionProxy,
  EventProxy,
  LockProxy,
  SemaphoreProxy,
} from "./proxies_sync.ts";
import { JoinableQueueProxy, QueueProxy } from "./proxies_queues.ts";

/** The proxy class of each type. */
const CLASSES: Readonly<Record<TypeId, ProxyClass>> = {
  dict: DictProxy,
  list: ListProxy,
  Namespace: NamespaceProxy,
  Value: ValueProxy,
  Array: ArrayProxy,
  Lock: LockProxy,
  RLock: LockProxy,
  Semaphore: SemaphoreProxy,
  BoundedSemaphore: SemaphoreProxy,
  Event: EventProxy,
  Condition: ConditionProxy,
  Queue: QueueProxy,
  JoinableQueue: JoinableQueueProxy,
};

/** How proxies cross in calls: told apart by class, made by type. */
export const PROXY_CODEC: ProxyCodec = {
  refOf: (value) => value instanceof BaseProxy ? stateOf(value) : undefined,
  make: makeProxy,
};

/**
 * Makes the proxy for object `id` of type `typeid` on `server`.
 *
 * @param server The server holding the object.
 * @param id The object's id there.
 * @param typeid The object's type.
 * @returns The proxy.
 */
export function makeProxy(
  server: ServerId,
  id: number,
  typeid: TypeId,
): BaseProxy {
  const state: ProxyState = { server, id, typeid, codec: PROXY_CODEC };
  return CLASSES[typeid][kMake](state);
}

/**
 * Rebuilds a proxy from the data of its `kShare` descriptor.
 *
 * @param data The descriptor's data.
 * @returns A working proxy.
 * @throws {TypeError} When the data is not a proxy's.
 */
export function reviveProxy(data: unknown): BaseProxy {
  const d = data as {
    address?: unknown;
    authkey?: unknown;
    objectId?: unknown;
    typeid?: unknown;
  };
  const a = d.address as unknown[];
  if (
    !Array.isArray(a) || typeof a[0] !== "string" ||
    !Number.isInteger(a[1]) || typeof d.authkey !== "string" ||
    !Number.isSafeInteger(d.objectId) ||
    !(TYPEIDS as readonly string[]).includes(d.typeid as string)
  ) {
    throw new TypeError("Cannot receive a manager proxy: its data is invalid");
  }
  const server = ServerId.of([a[0], a[1] as number], fromBase64(d.authkey));
  return makeProxy(server, d.objectId as number, d.typeid as TypeId);
}
