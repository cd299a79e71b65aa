/**
 * The main example: square numbers in parallel with `Pool.map`.
 *
 * Run: deno task example   (or: deno run --allow-all examples/pool_map.ts)
 *
 * `square` is exported, so each worker imports this module and finds it
 * by reference; the code under `import.meta.main` runs only here, in the
 * parent, as Python's `if __name__ == "__main__":`.
 */
import * as mp from "../mod.ts";

export function square(n: number): number {
  return n * n;
}

if (import.meta.main) {
  await using pool = new mp.Pool(mp.cpuCount());
  console.log(await pool.map(square, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  // imap yields results in order as they are ready.
  for await (const sq of pool.imap(square, [11, 12, 13])) console.log(sq);
  console.log(pool.stats());
}
