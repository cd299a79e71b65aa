/**
 * The class registered for a served primitive's marker (`SERVED_TAG`) in
 * `_launch/shareables.ts`. The marker revives as a stand-in in the
 * `"subprocess"` child it was sent to (`proxy.ts`), and as the original
 * primitive when it comes back to the parent that serves it (`host.ts`).
 *
 * May import: `./host.ts`, `./proxy.ts`, `./stand_in.ts`,
 * `_common/transfer.ts`.
 *
 * @module
 */

import { kRevive } from "../_common/transfer.ts";
import { reviveOriginal } from "./host.ts";
import { reviveStandIn, servedByParent } from "./proxy.ts";
import type { StandInData } from "./stand_in.ts";

/** A served primitive, as its marker crosses between parent and child. */
export class ServedMarker {
  /**
   * Revives a served primitive's marker in this process.
   *
   * @param data What the parent sent of it.
   * @param id Its served id.
   * @returns The stand-in (in the child), or the original (in the parent).
   */
  static [kRevive](data: unknown, id: string): unknown {
    return servedByParent()
      ? reviveStandIn(data as StandInData, id)
      : reviveOriginal(id);
  }
}
