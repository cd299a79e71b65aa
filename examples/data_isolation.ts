/**
 * Each process has its own memory: a global changed in a child is
 * unchanged in the parent (use Value, Queue or a Manager to share).
 *
 * Run: deno run --allow-all examples/data_isolation.ts
 */
import * as mp from "../mod.ts";

export const items: number[] = [];

export function addItems(): void {
  items.push(1, 2, 3);
  console.log(`in the child:  items = [${items}]`);
}

if (import.meta.main) {
  const p = new mp.Process({ target: addItems });
  p.start();
  await p.join();
  console.log(`in the parent: items = [${items}]`);
}
