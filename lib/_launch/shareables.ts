/**
 * The registry of shareable classes: every class whose instances cross
 * into another process as working primitives, under the tag its
 * `[kShare]()` gives, with the static `[kRevive]` that makes one there
 * (`_common/transfer.ts` is the mechanism).
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

import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
} from "../synchronize.ts";
import { RawArray, RawValue, SharedArray, Value } from "../shared_value.ts";
import { JoinableQueue, Queue, SimpleQueue } from "../queue.ts";
import { Connection } from "../pipe.ts";
import { ServedMarker } from "../_served/marker.ts";
import { SERVED_TAG } from "../_served/spec.ts";
import {
  AcquirerProxy,
  ArrayProxy,
  BaseProxy,
  ConditionProxy,
  DictProxy,
  EventProxy,
  JoinableQueueProxy,
  ListProxy,
  LockProxy,
  NamespaceProxy,
  QueueProxy,
  SemaphoreProxy,
  SequenceProxy,
  ValueProxy,
} from "../manager.ts";
import {
  type RegisteredShareable,
  type ShareableClass,
  useShareables,
} from "../_common/transfer.ts";

// deno-lint-ignore no-explicit-any
type Class = abstract new (...args: any[]) => unknown;

/** One class in the registry. */
export interface ShareableEntry {
  /** The tag its instances' `[kShare]()` gives. */
  tag: string;
  /** The class whose static `[kRevive]` makes one. */
  cls: Class;
  /**
   * Subclasses whose instances cross under the same tag: `cls[kRevive]`
   * makes them too (the data says which).
   */
  subclasses?: readonly Class[];
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
    { tag: "mp.Lock", cls: Lock },
    { tag: "mp.RLock", cls: RLock },
    { tag: "mp.Semaphore", cls: Semaphore, subclasses: [BoundedSemaphore] },
    { tag: "mp.Event", cls: Event },
    { tag: "mp.Condition", cls: Condition },
    { tag: "mp.Barrier", cls: Barrier },
    { tag: "mp.RawValue", cls: RawValue },
    { tag: "mp.Value", cls: Value },
    { tag: "mp.RawArray", cls: RawArray },
    { tag: "mp.Array", cls: SharedArray },
    { tag: "Queue", cls: Queue },
    { tag: "JoinableQueue", cls: JoinableQueue },
    { tag: "SimpleQueue", cls: SimpleQueue },
    { tag: "Connection", cls: Connection },
    // A primitive a parent serves to its "subprocess" child: the stand-in
    // keeps its own cache (one per primitive while it lives).
    { tag: SERVED_TAG, cls: ServedMarker, everyMarker: true },
    {
      tag: "mp.ManagerProxy",
      cls: BaseProxy,
      subclasses: [
        AcquirerProxy,
        SequenceProxy,
        DictProxy,
        ListProxy,
        NamespaceProxy,
        ValueProxy,
        ArrayProxy,
        LockProxy,
        SemaphoreProxy,
        EventProxy,
        ConditionProxy,
        QueueProxy,
        JoinableQueueProxy,
      ],
    },
  ];
}

let byTag: Map<string, RegisteredShareable> | undefined;

useShareables((tag) => {
  byTag ??= new Map(
    shareables().map((e) => [e.tag, {
      cls: e.cls as unknown as ShareableClass,
      everyMarker: e.everyMarker,
    }]),
  );
  return byTag.get(tag);
});
