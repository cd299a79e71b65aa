/**
 * The registry of shareable classes: every class whose instances cross
 * into another process as working primitives, under the tag its
 * `[kShare]()` gives, with the static `[kRevive]` that makes one there
 * (`_common/transfer.ts` is the mechanism). Manager proxies are revived
 * by a function the list names instead: their base cannot import the
 * subclasses it would make.
 *
 * It is one explicit list, not a side effect of importing the classes'
 * modules. Importing this module hands it to `_common/transfer.ts`; every
 * process that sends or receives primitives imports it: the worker and
 * child entries (`worker_entry.ts`, `child_entry.ts`), and in the parent
 * `process.ts` and `_pool/engine.ts`, which send arguments and receive
 * results. A primitive whose class is missing here cannot be sent (the
 * error names it), and `tests/shareables_test.ts` fails for every class
 * exported from `mod.ts` whose instances have `[kShare]` but that is not
 * listed.
 *
 * @module
 */

import * as sync from "../synchronize.ts";
import * as values from "../shared_value.ts";
import * as queues from "../queue.ts";
import { Connection } from "../pipe.ts";
import * as manager from "../manager.ts";
import { reviveProxy } from "../_manager/proxies.ts";
import { PROXY_TAG } from "../_manager/proxy.ts";
import { ServedMarker } from "../_served/marker.ts";
import { SERVED_TAG } from "../_served/spec.ts";
import {
  kRevive,
  type RegisteredShareable,
  useShareables,
} from "../_common/transfer.ts";

/** A class, public or (a base's) protected constructor alike. */
type Class = { readonly name: string; readonly prototype: object };

/** One class in the registry. */
export interface ShareableEntry {
  /** The tag its instances' `[kShare]()` gives. */
  tag: string;
  /** The class whose static `[kRevive]` makes one, unless `revive` does. */
  cls?: Class;
  /**
   * Subclasses whose instances cross under the same tag: the tag's
   * reviver makes them too (the data says which).
   */
  subclasses?: readonly Class[];
  /** Makes one, where no class holds the reviver (see the module doc). */
  revive?: (data: unknown, id: string) => unknown;
  /**
   * Its reviver keeps its own cache, so it is called for every marker,
   * not only for the first of an id.
   */
  everyMarker?: boolean;
}

/**
 * Every shareable class. A function, not a constant, so the list is made
 * when first asked for: a module that imports this one while the classes'
 * modules are still loading (an import cycle) does not see them unset.
 *
 * @returns The entries, one per tag.
 */
export function shareables(): readonly ShareableEntry[] {
  return [
    { tag: "mp.Lock", cls: sync.Lock },
    { tag: "mp.RLock", cls: sync.RLock },
    {
      tag: "mp.Semaphore",
      cls: sync.Semaphore,
      subclasses: [sync.BoundedSemaphore],
    },
    { tag: "mp.Event", cls: sync.Event },
    { tag: "mp.Condition", cls: sync.Condition },
    { tag: "mp.Barrier", cls: sync.Barrier },
    { tag: "mp.RawValue", cls: values.RawValue },
    { tag: "mp.Value", cls: values.Value },
    { tag: "mp.RawArray", cls: values.RawArray },
    { tag: "mp.Array", cls: values.SharedArray },
    { tag: "Queue", cls: queues.Queue },
    { tag: "JoinableQueue", cls: queues.JoinableQueue },
    { tag: "SimpleQueue", cls: queues.SimpleQueue },
    { tag: "Connection", cls: Connection },
    // A primitive a parent serves to its "subprocess" child: the stand-in
    // keeps its own cache (one per primitive while it lives).
    { tag: SERVED_TAG, cls: ServedMarker, everyMarker: true },
    {
      tag: PROXY_TAG,
      cls: manager.BaseProxy,
      revive: reviveProxy,
      subclasses: [
        manager.AcquirerProxy,
        manager.SequenceProxy,
        manager.DictProxy,
        manager.ListProxy,
        manager.NamespaceProxy,
        manager.ValueProxy,
        manager.ArrayProxy,
        manager.LockProxy,
        manager.SemaphoreProxy,
        manager.EventProxy,
        manager.ConditionProxy,
        manager.QueueProxy,
        manager.JoinableQueueProxy,
      ],
    },
  ];
}

/**
 * Exported bases that are never made themselves: each of their subclasses
 * is registered (and crosses under its own tag).
 *
 * @returns The bases.
 */
export function shareableBases(): readonly Class[] {
  return [sync.SemLock, values.RawBase, values.SynchronizedBase];
}

/** The reviver of an entry: its own, or its class's static `[kRevive]`. */
function reviverOf(e: ShareableEntry): RegisteredShareable["revive"] {
  if (e.revive !== undefined) return e.revive;
  const cls = e.cls as { [kRevive]?: RegisteredShareable["revive"] };
  const revive = cls[kRevive];
  if (typeof revive !== "function") {
    throw new TypeError(
      `Cannot register '${e.tag}': its class has no static [kRevive]`,
    );
  }
  return revive.bind(cls);
}

let byTag: Map<string, RegisteredShareable> | undefined;

useShareables((tag) => {
  byTag ??= new Map(
    shareables().map((e) => [e.tag, {
      revive: reviverOf(e),
      everyMarker: e.everyMarker,
    }]),
  );
  return byTag.get(tag);
});
