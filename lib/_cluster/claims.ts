/**
 * Finding the tasks of dead worker hosts: entries of the task stream
 * taken by a host that stopped renewing its claim for longer than the
 * entry's visibility timeout.
 *
 * A host renews the claims of the entries it holds every 250 ms (XCLAIM
 * with JUSTID, which resets their idle time without counting a
 * delivery), so only entries idle for over a second are candidates; the
 * claim itself (XCLAIM with the entry's visibility timeout as minimum
 * idle time) is atomic, so two hosts never both win an entry.
 *
 * May import: `./broker.ts`, `./protocol.ts`, `./admit.ts`.
 *
 * @module
 */

import type { Broker } from "./broker.ts";
import { fieldsOf, GROUP } from "./protocol.ts";
import { parseEntry } from "./admit.ts";

/** An entry claimed from a dead host. */
export interface LostEntry {
  /** The stream entry's id. */
  id: string;
  /** Its fields, as Redis returned them. */
  fields: unknown;
  /** How many times it has been delivered, this claim included. */
  delivered: number;
}

/**
 * Claims entries whose host went silent, one at a time.
 *
 * @param cmd A connection.
 * @param tasks The task stream's key.
 * @param me This host's consumer name.
 * @param test `held(id)`: whether this host holds the entry now;
 *   `room()`: whether to claim more.
 * @returns The claimed entries.
 */
export async function* findLost(
  cmd: Broker,
  tasks: string,
  me: string,
  test: { held: (id: string) => boolean; room: () => boolean },
): AsyncGenerator<LostEntry> {
  const pending = await cmd.send([
    "XPENDING",
    tasks,
    GROUP,
    "IDLE",
    "1000",
    "-",
    "+",
    "32",
  ]);
  if (!Array.isArray(pending)) return;
  for (const row of pending as [string, string, number, number][]) {
    if (!test.room()) return;
    const [id, consumer, idle, delivered] = row;
    // Our own entry that we no longer hold: its results could not be
    // written; it is claimed again like any other.
    if (consumer === me && test.held(id)) continue;
    const got = await cmd.sendRaw(["XRANGE", tasks, id, id]);
    const first = Array.isArray(got) ? got[0] : undefined;
    if (first === undefined) {
      // Deleted but never acknowledged: nothing to run.
      await cmd.send(["XACK", tasks, GROUP, id]);
      continue;
    }
    const entry = parseEntry(fieldsOf(first[1]).get("e"));
    const vt = typeof entry === "string" ? 1 : entry.vt;
    if (Number(idle) < vt * 1000) continue;
    const claimed = await cmd.sendRaw([
      "XCLAIM",
      tasks,
      GROUP,
      me,
      String(Math.round(vt * 1000)),
      id,
    ]);
    if (!Array.isArray(claimed) || claimed.length === 0 || !claimed[0]) {
      continue; // Another host was quicker, or its host came back.
    }
    yield {
      id,
      fields: (claimed[0] as [unknown, unknown])[1],
      delivered: Number(delivered) + 1,
    };
  }
}

/** A consumer idle this long (ms) with nothing pending is a dead host. */
const DEAD_CONSUMER_MS = 3_600_000;

/**
 * Forgets the consumer names of hosts long gone (their entries were
 * claimed by others), so a cluster whose hosts restart for months does
 * not collect names.
 *
 * @param cmd A connection.
 * @param tasks The task stream's key.
 * @param idleMs How long (ms) a consumer must have been idle.
 */
export async function dropDeadConsumers(
  cmd: Broker,
  tasks: string,
  idleMs: number = DEAD_CONSUMER_MS,
): Promise<void> {
  const consumers = await cmd.send(["XINFO", "CONSUMERS", tasks, GROUP]);
  if (!Array.isArray(consumers)) return;
  for (const c of consumers) {
    const info = fieldsOf(c);
    if (
      Number(info.get("pending")) === 0 &&
      Number(info.get("idle")) > idleMs
    ) {
      await cmd.send([
        "XGROUP",
        "DELCONSUMER",
        tasks,
        GROUP,
        String(info.get("name")),
      ]);
    }
  }
}
