/**
 * The classic managed-dict program: 10 processes each write `d[i] = 100`
 * into a dict held by a manager, and the parent prints it. Python:
 *
 * ```python
 * def f(d, i):
 *     d[i] = 100
 *
 * with Manager() as manager:
 *     d = manager.dict()
 *     ps = [Process(target=f, args=(d, i)) for i in range(10)]
 *     ...
 * ```
 *
 * Each `d.set()` is one atomic call on the manager's server; the proxy
 * `d` crosses to each process as an argument and connects from there.
 *
 * Run: `deno run --allow-all examples/manager_dict.ts` (needs `--allow-net`)
 *
 * @module
 */

import * as mp from "../mod.ts";

/** `d[i] = 100`. Runs in a child process. */
export async function f(d: mp.DictProxy<number, number>, i: number) {
  await d.set(i, 100);
}

if (import.meta.main) {
  await using manager = await mp.Manager();
  const d = await manager.dict<number, number>();
  const ps = Array.from({ length: 10 }, (_, i) => {
    const p = new mp.Process({ target: f, args: [d, i] });
    p.start();
    return p;
  });
  for (const p of ps) await p.join();
  console.log(await d.toObject());
  // { "0": 100, "1": 100, ..., "9": 100 }
}
