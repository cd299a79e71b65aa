// A pool task busy forever in synchronous code, with a timeout: prints as
// JSON when it rejected, what stats() said, and whether the pool still
// serves at full size. A program of its own: the busy thread cannot be
// stopped and must not spin on in the test runner.
import { Pool, TimeoutError } from "../../mod.ts";
import { REPORT_BYTES, Slot } from "./stop_tasks.ts";
import { square } from "./tasks.ts";

if (import.meta.main) {
  const pool = new Pool(2, { startMethod: "worker" });
  await pool.map(square, [1, 2, 3, 4], 1); // both workers started
  const report = new Int32Array(new SharedArrayBuffer(REPORT_BYTES));
  const t0 = performance.now();
  let error = "";
  try {
    // Self-contained: shipped by its source.
    await pool.apply(
      (r: Int32Array) => {
        Atomics.store(r, 3, 1); // Slot.Started
        for (;;) {
          // Nothing stops this thread.
        }
      },
      [report],
      undefined,
      { timeout: 0.3 },
    );
  } catch (e) {
    error = e instanceof TimeoutError ? "TimeoutError" : String(e);
  }
  const rejectedMs = performance.now() - t0;
  const afterTimeout = pool.stats();
  // Two tasks that each wait for the other: they finish only when two
  // workers run them at the same time.
  const both = new Int32Array(new SharedArrayBuffer(8));
  const pair = await Promise.all(
    [0, 1].map((i) =>
      pool.apply((slots: Int32Array, me: number) => {
        Atomics.store(slots, me, 1);
        Atomics.notify(slots, me);
        const other = 1 - me;
        const end = performance.now() + 20_000;
        while (Atomics.load(slots, other) === 0 && performance.now() < end) {
          Atomics.wait(slots, other, 0, 50);
        }
        return Atomics.load(slots, other) === 1;
      }, [both, i])
    ),
  );
  const squares = await pool.map(
    square,
    Array.from({ length: 10 }, (_, i) => i),
  );
  console.log(JSON.stringify({
    error,
    rejectedMs,
    started: Atomics.load(report, Slot.Started),
    afterTimeout,
    pair,
    squares,
    end: pool.stats(),
  }));
  pool.close();
  await pool.join();
  console.log(JSON.stringify({ afterJoin: pool.stats() }));
}
