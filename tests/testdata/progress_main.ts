// A program that maps with a progress bar, for tests/progress_test.ts.
// Usage: progress_main.ts <map|imap|fail> [label]
import { Pool } from "../../mod.ts";

export function slowSquare(n: number): number {
  const end = Date.now() + 30;
  while (Date.now() < end) { /* busy: a task that takes 30 ms */ }
  if (n === 13 && Deno.args[0] === "fail") throw new Error("unlucky");
  return n * n;
}

if (import.meta.main) {
  const [mode, label] = Deno.args;
  const progress = label ?? true;
  await using pool = new Pool(2);
  const items = Array.from({ length: 40 }, (_, i) => i);
  try {
    if (mode === "imap") {
      let sum = 0;
      for await (const v of pool.imap(slowSquare, items, { progress })) {
        sum += v;
      }
      console.log(`sum ${sum}`);
    } else {
      const out = await pool.map(slowSquare, items, { chunksize: 1, progress });
      console.log(`sum ${out.reduce((a, b) => a + b, 0)}`);
    }
  } catch (err) {
    console.log(`error ${(err as Error).message}`);
  }
}
