// Shared batches (lib/_pool/share.ts): short like tasks go to every idle
// worker thread as one batch, and each worker takes the next task when it
// is free, as a Python pool's workers take theirs from one queue. What a
// caller sees: a worker busy with a long task holds back no other task;
// every task runs once; a worker that dies fails only its own task.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { Pool, PoolTerminatedError, WorkerLostError } from "../mod.ts";
import * as tasks from "./testdata/tasks.ts";
import { TASKS, testdata } from "./testdata/helpers.ts";
import { threadTicks } from "./testdata/stop_tasks.ts";

/** A task that says which Linux thread runs it. */
const THREAD_TID = {
  module: testdata("stop_tasks.ts").href,
  name: "threadTid",
};

/** `n` zeros: items for tasks that take no time. */
function zeros(n: number): number[] {
  return new Array(n).fill(0);
}

/** A pool of `size` worker threads whose tasks are known to be short. */
async function warmPool(
  size: number,
  opts: ConstructorParameters<typeof Pool>[1] = {},
): Promise<Pool> {
  const pool = new Pool(size, { module: TASKS, ...opts });
  // The first tasks go one at a time until the pool knows they are short;
  // by the end every worker has started.
  for (let i = 0; i < 3; i++) await pool.map(tasks.identAfter, zeros(400), 1);
  return pool;
}

Deno.test("Pool.map(chunksize 1): a worker busy with a long task holds back none of the others", async () => {
  await using pool = await warmPool(2);
  for (let round = 0; round < 3; round++) {
    // One task of 300 ms, then 400 of none: cut in halves, the busy
    // worker would run 200 of them after its long one.
    const who = await pool.map(tasks.identAfter, [300, ...zeros(400)], 1);
    assertEquals(who.length, 401);
    const busy = who[0];
    const ranByBusy = who.filter((w) => w === busy).length;
    assert(
      ranByBusy <= 5,
      `the busy worker ran ${ranByBusy} of 401 tasks; the free one should have taken the rest`,
    );
    assertEquals(new Set(who).size, 2);
  }
});

Deno.test("Shared batches run every task exactly once, under contention", async () => {
  const n = 256;
  for (const size of [2, 3]) {
    const runs = new Int32Array(new SharedArrayBuffer(4 * n));
    await using pool = await warmPool(size, {
      initializer: tasks.useMarks,
      initargs: [runs.buffer],
    });
    const items = Array.from({ length: n }, (_, i) => i);
    for (let round = 1; round <= 100; round++) {
      const out = await pool.map(tasks.mark, items, 1);
      assertEquals(out, items.map((i) => i * 2));
      const wrong = runs.findIndex((c) => c !== round);
      assertEquals(
        wrong,
        -1,
        `task ${wrong} ran ${runs[wrong]} times in ${round} maps`,
      );
    }
    // imap gives them back in order from the same batches.
    const ordered: number[] = [];
    for await (const v of pool.imap(tasks.mark, items, 1)) ordered.push(v);
    assertEquals(ordered, items.map((i) => i * 2));
  }
});

Deno.test("A worker that exits during a shared batch fails its own task; every other task is done", async () => {
  await using pool = await warmPool(2);
  for (let round = 0; round < 3; round++) {
    // Task 150 ends its worker with exit code 150.
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, (_, n) => pool.apply(tasks.exitOn, [n, 150])),
    );
    for (const [n, r] of results.entries()) {
      if (n === 150) {
        assertEquals(r.status, "rejected");
        const reason = (r as PromiseRejectedResult).reason;
        assert(reason instanceof WorkerLostError, String(reason));
        assertEquals(reason.exitCode, 150);
      } else {
        assertEquals(r, { status: "fulfilled", value: n });
      }
    }
    assertEquals(pool.stats().workers, 2);
    assertEquals(pool.stats().running, 0);
  }
});

Deno.test("Pool.terminate() during a shared batch rejects what is left and ends the workers", async () => {
  const pool = await warmPool(2);
  // The workers' Linux thread ids, to see them end below.
  const tids = new Set<number>();
  for (let i = 0; tids.size < 2; i++) {
    if (i === 50) throw new Error("the two workers never both ran a task");
    const got = await pool.map(THREAD_TID, zeros(400), 1) as number[];
    for (const tid of got) tids.add(tid);
  }
  const done = pool.stats().done;
  const map = pool.map(tasks.identAfter, zeros(20_000).fill(0.05), 1);
  for (let i = 0; pool.stats().done < done + 100; i++) {
    if (i === 3000) throw new Error("no task finished in 30 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  pool.terminate();
  await assertRejects(() => map, PoolTerminatedError);
  await pool.join();
  assertEquals(pool.stats(), {
    queued: 0,
    running: 0,
    done: pool.stats().done,
    failed: pool.stats().failed,
    workers: 0,
    stopping: 0,
  });
  // Each worker's thread is gone, or uses no CPU any more.
  const before = [...tids].map(threadTicks);
  await new Promise((r) => setTimeout(r, 300));
  const after = [...tids].map(threadTicks);
  for (const [i, t] of after.entries()) {
    assert(t === null || t === before[i], `thread ${[...tids][i]} still runs`);
  }
});
