// A pool worker that takes its stop but ends slowly (an unload handler
// spins 1.5 s, as freeing a big heap can take a while): prints as JSON
// whether join() waited for its end and what stats() said meanwhile. Its
// own program, so the stderr warnings can be read.
import { Pool } from "../../mod.ts";

if (import.meta.main) {
  const pool = new Pool(1, { startMethod: "worker" });
  const ended = new Int32Array(new SharedArrayBuffer(4));
  // Self-contained: shipped by its source.
  await pool.apply((flag: Int32Array) => {
    addEventListener("unload", () => {
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        // Ending slowly.
      }
      Atomics.store(flag, 0, 1);
    });
    return 1;
  }, [ended]);
  const t0 = performance.now();
  pool.terminate();
  await new Promise((r) => setTimeout(r, 600));
  const meanwhile = pool.stats();
  await pool.join();
  console.log(JSON.stringify({
    joinMs: performance.now() - t0,
    endedBeforeJoin: Atomics.load(ended, 0),
    meanwhile,
    after: pool.stats(),
  }));
}
