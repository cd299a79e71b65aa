/**
 * How the classes of this folder reach each other's engines and cross to
 * other processes, declared in the open: the symbols of the members they
 * call on each other (a `Condition` runs its lock's mutex; a `Barrier`
 * runs its condition's waits), and the ids their share descriptors carry.
 *
 * @module
 */

import { newShareId, rememberShared } from "../_common/transfer.ts";

/**
 * The static method of a shareable class that makes a working primitive
 * in the receiving process (`static [kRevive](data, id)`). The same
 * registered symbol as `_common/transfer.ts` will export.
 */
export const kRevive: unique symbol = Symbol.for(
  "@seed/multiprocessing.revive",
);

/** A `SemLock`'s engine: `[kCore]()` (a `Condition` takes its lock's). */
export const kCore: unique symbol = Symbol("@seed/multiprocessing.core");

/**
 * A `Condition`'s runs of a wait loop with its lock held in each step:
 * `[kRun](run)` and `[kRunSync](run)` (a `Barrier` is built on them).
 */
export const kRun: unique symbol = Symbol("@seed/multiprocessing.run");
/** The blocking twin of {@linkcode kRun}. */
export const kRunSync: unique symbol = Symbol("@seed/multiprocessing.runSync");

/**
 * A new primitive's share id, made the first time it is described for
 * another process (a primitive never sent needs none), and remembered so
 * that it comes back into this process as itself.
 *
 * @param tag The primitive's tag.
 * @param obj The primitive.
 * @returns The id.
 */
export function firstShareId(tag: string, obj: object): string {
  const id = newShareId();
  rememberShared(tag, id, obj);
  return id;
}
