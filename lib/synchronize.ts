/**
 * Locks, semaphores, events, conditions and barriers that work across
 * processes: their state lives in a `SharedArrayBuffer` and every change is
 * an `Atomics` operation, so a `Lock` passed to a `Process` is the same lock
 * there, with no message passing on the hot path.
 *
 * How a wait works: a blocked caller counts itself in a `waiters` slot,
 * then sleeps on the slot that must change (`Atomics.wait`, or
 * `Atomics.waitAsync` for the async methods) after a short spin. The
 * releasing side changes the slot first and reads `waiters` second; the
 * waiter counts itself first and reads the slot second. `Atomics` are
 * sequentially consistent, so at least one side sees the other's write:
 * either the waiter sees the change and does not sleep, or the releaser
 * sees the waiter and wakes it. No wake-up is lost.
 *
 * Ownership: `Lock` and `RLock` store the holder's process key (see
 * `_common/runtime.ts`) in their state word. The owner is the process (worker
 * thread), not the async task: two async tasks of one process share it.
 * Waiters sleep in slices of about 50 ms and, on each wake, check
 * whether the holder is still alive; when it died holding the lock, one of
 * them takes the lock over and sees `ownerDied === true`.
 *
 * Start methods: these primitives share memory, so they cross to
 * `"worker"` processes. A `"subprocess"` child cannot map the parent's
 * `SharedArrayBuffer`; use a manager's `m.Lock()` … there.
 *
 * Where it is built: `_sync/` (its `README.md` draws it). `SemLock` is
 * the base of `Lock`, `RLock` and `Semaphore`, as in CPython, over an
 * engine: a mutex keyed by its holder, or a counter; `Condition` adds a
 * table of waiter records to a lock; `Barrier` is built on a `Condition`.
 * Every wait is written once, as a wait loop that `_shm/drive.ts` runs
 * blocking or async.
 *
 * @module
 */

import { registerShareable } from "./_common/transfer.ts";
import { Barrier } from "./_sync/barrier.ts";
import { Condition } from "./_sync/condition.ts";
import { Event } from "./_sync/event.ts";
import { kRevive } from "./_sync/keys.ts";
import { Lock, RLock } from "./_sync/lock.ts";
import { BoundedSemaphore, Semaphore } from "./_sync/semaphore.ts";

export type { AcquireOptions, LockGuard } from "./_sync/semlock.ts";
export { SemLock } from "./_sync/semlock.ts";
export { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore };

registerShareable("mp.Lock", (data, id) => Lock[kRevive](data, id));
registerShareable("mp.RLock", (data, id) => RLock[kRevive](data, id));
registerShareable(
  "mp.Semaphore",
  (data, id) => Semaphore[kRevive](data, id),
);
registerShareable("mp.Event", (data, id) => Event[kRevive](data, id));
registerShareable("mp.Condition", (data, id) => Condition[kRevive](data, id));
registerShareable("mp.Barrier", (data, id) => Barrier[kRevive](data, id));
