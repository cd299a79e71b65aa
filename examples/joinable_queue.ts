/**
 * `JoinableQueue` with daemon consumers: the main process puts jobs and
 * waits with `join()` until every job was marked done with `taskDone()`;
 * the consumers are daemons, so they end with the main module.
 *
 * Run: `deno run --allow-all examples/joinable_queue.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";

/** Takes jobs forever, marking each done. Runs in a daemon process. */
export async function consumer(
  jobs: mp.JoinableQueue<string>,
  done: mp.Queue<string>,
): Promise<void> {
  for (;;) {
    const job = await jobs.get();
    await new Promise((r) => setTimeout(r, 10)); // the "work"
    await done.put(`${job} done by ${mp.currentProcess().name}`);
    jobs.taskDone();
  }
}

if (import.meta.main) {
  const jobs = new mp.JoinableQueue<string>();
  const done = new mp.Queue<string>();
  for (let i = 0; i < 3; i++) {
    new mp.Process({ target: consumer, args: [jobs, done], daemon: true })
      .start();
  }
  for (let i = 0; i < 10; i++) await jobs.put(`job ${i}`);
  await jobs.join(); // returns once all 10 had taskDone()
  while (!done.empty()) console.log(done.getNowait());
  console.log("all jobs done; the daemon consumers end with the program");
}
