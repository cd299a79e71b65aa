// What a caller catches when pool.terminate() ends tasks that had not
// finished: a PoolTerminatedError, queued or running, on either start
// method (the running task is stopped, not left to finish).
import { assertEquals, assertRejects } from "@std/assert";
import { Pool, PoolTerminatedError, type StartMethod } from "../mod.ts";
import * as tasks from "./testdata/tasks.ts";

const TASKS = new URL("./testdata/tasks.ts", import.meta.url);

for (const startMethod of ["worker", "subprocess"] as StartMethod[]) {
  Deno.test(`Pool.terminate() rejects unfinished tasks with PoolTerminatedError [${startMethod}]`, async () => {
    const pool = new Pool(1, { module: TASKS, startMethod });
    // Running: a sleep; queued behind it: a square.
    const running = pool.applyAsync(tasks.sleepThen, [60_000, "late"]);
    const queued = pool.applyAsync(tasks.square, [3]);
    // Sent to the worker (generous for a loaded machine; never a hang).
    for (let i = 0; pool.stats().running === 0; i++) {
      if (i === 3000) throw new Error("the task was never sent in 30 s");
      await new Promise((r) => setTimeout(r, 10));
    }
    pool.terminate();
    for (const r of [running, queued]) {
      const err = await assertRejects(() => r.get(), PoolTerminatedError);
      assertEquals(err.name, "PoolTerminatedError");
      assertEquals(
        err.message,
        "Cannot finish the task: the pool was terminated",
      );
    }
    await pool.join();
    assertEquals(pool.stats().workers, 0);
  });
}
