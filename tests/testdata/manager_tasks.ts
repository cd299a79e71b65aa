/**
 * Functions the manager tests run inside worker processes. Each one works
 * through manager proxies it got as arguments.
 *
 * @module
 */

import type {
  DictProxy,
  EventProxy,
  ListProxy,
  LockProxy,
  QueueProxy,
  ValueProxy,
} from "../../mod.ts";

/** The seeds' `f(d, i)`: `d[i] = 100`. */
export async function setHundred(
  d: DictProxy<number, number>,
  i: number,
): Promise<void> {
  await d.set(i, 100);
}

/** Takes 1 from `count` under `lock` (a read-modify-write of two calls). */
export async function decrement(
  lock: LockProxy,
  count: ValueProxy<number>,
): Promise<void> {
  await lock.acquire();
  try {
    const v = await count.get();
    // Yield between read and write, so a missing lock would show.
    await new Promise((r) => setTimeout(r, 0));
    await count.set(v - 1);
  } finally {
    await lock.release();
  }
}

/** Appends `i` to `l`. */
export async function appendTo(l: ListProxy<number>, i: number): Promise<void> {
  await l.append(i);
}

/** Proxies nested in plain objects and arrays arrive working. */
export async function nested(
  box: { deep: [{ d: DictProxy<string, unknown> }]; l: ListProxy },
): Promise<void> {
  const d = box.deep[0].d;
  await d.set("from-worker", true);
  // A proxy stored inside a managed dict comes back as a proxy here too.
  const inner = await d.get("inner") as ListProxy<string>;
  await inner.append("worker");
  await box.l.append(await inner.length());
}

/** Acquires `lock` and returns without releasing it (the process ends). */
export async function acquireAndDie(lock: LockProxy): Promise<void> {
  await lock.acquire();
}

/** Waits for `go`, then moves every item of `q` into `out` until `null`. */
export async function consume(
  go: EventProxy,
  q: QueueProxy<number | null>,
  out: ListProxy<number>,
): Promise<void> {
  await go.wait();
  for (;;) {
    const item = await q.get({ timeout: 10 });
    if (item === null) return;
    await out.append(item);
  }
}
