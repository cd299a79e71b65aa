// Run with `--v8-flags=--expose-gc` (its children inherit it): a pool
// child gets a new Lock in each of 30 tasks; once the child has collected
// their stand-ins, this program must not hold on to them. Prints how many
// primitives it still serves.
import * as mp from "../../mod.ts";
import { servedCount } from "../../lib/_served/host.ts";

/** Uses `lock` (when given), then collects garbage in this child. */
export async function useAndCollect(lock: mp.Lock | null): Promise<void> {
  if (lock !== null) {
    lock.acquireSync();
    lock.release();
  }
  (globalThis as { gc?: () => void }).gc?.();
  // Let finalizers run and their messages leave.
  await new Promise((r) => setTimeout(r, 20));
}

if (import.meta.main) {
  await using pool = new mp.Pool(1, {
    startMethod: "subprocess",
    module: import.meta.url,
  });
  const kept = new mp.Lock();
  for (let i = 0; i < 30; i++) {
    await pool.apply(useAndCollect, [i % 10 === 0 ? kept : new mp.Lock()]);
  }
  for (let i = 0; i < 3; i++) await pool.apply(useAndCollect, [null]);
  console.log(servedCount());
}
