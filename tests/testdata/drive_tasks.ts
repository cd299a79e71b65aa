/**
 * Wait loops that tests/drive_test.ts runs in a worker process, to see
 * what the wait driver does when the process is asked to stop.
 *
 * @module
 */

import { driveSync, type Steps } from "../../lib/_shm/drive.ts";

/** Slots of the counters a test passes in. */
export const INSIDE = 0;
/** A slot nobody changes: the loop's wait sleeps on it. */
export const NEVER = 1;

/**
 * A wait loop that counts itself in `counts[INSIDE]` while it runs, as
 * the library's loops count their waiters, and waits for good.
 */
function* countedWait(counts: Int32Array): Steps<void> {
  Atomics.add(counts, INSIDE, 1);
  try {
    for (;;) yield { slot: NEVER, expected: 0, deadline: Infinity };
  } finally {
    Atomics.sub(counts, INSIDE, 1);
  }
}

/** Blocks this thread in {@linkcode countedWait} until it is stopped. */
export function waitSyncForever(counts: Int32Array): void {
  driveSync(countedWait(counts), counts);
}
