/**
 * A writer process and a reader process share a `Queue`: the writer puts
 * numbers and a `"DONE"` marker, the reader prints them.
 *
 * Run: `deno run --allow-all examples/queue_writer_reader.ts`
 *
 * @module
 */

import * as mp from "../mod.ts";

/** Puts 0..count-1, then `"DONE"`. Runs in the writer process. */
export function writer(q: mp.Queue<number | string>, count: number): void {
  for (let i = 0; i < count; i++) q.putSync(i);
  q.putSync("DONE");
}

/** Gets and prints until `"DONE"`. Runs in the reader process. */
export async function reader(q: mp.Queue<number | string>): Promise<void> {
  for (;;) {
    const msg = await q.get();
    if (msg === "DONE") break;
    console.log(`reader got ${msg}`);
  }
}

if (import.meta.main) {
  const q = new mp.Queue<number | string>();
  const r = new mp.Process({ target: reader, args: [q] });
  const w = new mp.Process({ target: writer, args: [q, 5] });
  r.start();
  w.start();
  await w.join();
  await r.join();
  console.log("writer and reader are done");
}
