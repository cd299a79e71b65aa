// The wait driver (lib/_shm/drive.ts): how a wait loop ends when its
// process is asked to stop.
import { assertEquals } from "@std/assert";
import { Process } from "../mod.ts";
import { INSIDE } from "./testdata/drive_tasks.ts";

const TASKS = new URL("./testdata/drive_tasks.ts", import.meta.url).href;

Deno.test("driveSync() lets a wait loop give back what it counted when its process is terminated", async () => {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const p = new Process({
    target: { module: TASKS, name: "waitSyncForever" },
    args: [counts],
  });
  p.start();
  const end = performance.now() + 30_000;
  while (Atomics.load(counts, INSIDE) === 0) {
    if (performance.now() > end) throw new Error("the wait never began");
    await new Promise((r) => setTimeout(r, 5));
  }
  p.terminate();
  await p.join();
  assertEquals(p.exitCode, -15);
  // The stop ended the blocking wait with StopRequested, thrown into the
  // loop at its wait, so its `finally` ran before the thread unwound.
  assertEquals(Atomics.load(counts, INSIDE), 0);
});
