/**
 * Seeds' ticket sale: 20 buyer processes each try to buy a ticket from a
 * stock kept in a JSON file. Reading the stock, deciding, and writing it
 * back must happen under a `Lock`; run with `--no-lock` to watch buyers
 * read the same stock and sell tickets that do not exist.
 *
 * Run: `deno run --allow-all examples/ticket_sale.ts [--no-lock]`
 *
 * @module
 */

import * as mp from "../mod.ts";

interface Stock {
  stock: number;
  sold: number;
}

/**
 * Waits for the sale to open, then buys one ticket if any is left and
 * counts it in `handedOut`. Runs in a child process.
 */
export async function buy(
  path: string,
  lock: mp.Lock | null,
  opens: mp.Barrier,
  handedOut: mp.Value<"i">,
): Promise<void> {
  const who = mp.currentProcess().name;
  await opens.wait(); // every buyer is at the door when the sale opens
  const held = lock === null ? undefined : await lock.lock();
  try {
    const state = JSON.parse(await Deno.readTextFile(path)) as Stock;
    console.log(`${who} sees ${state.stock} left`);
    await new Promise((r) => setTimeout(r, 10)); // think, pay ...
    if (state.stock > 0) {
      state.stock -= 1;
      state.sold += 1;
      await Deno.writeTextFile(path, JSON.stringify(state));
      {
        using _count = handedOut.getLock().lockSync();
        handedOut.value += 1;
      }
      console.log(`${who} bought a ticket`);
    } else {
      console.log(`${who}: sold out`);
    }
  } finally {
    held?.release();
  }
}

if (import.meta.main) {
  const useLock = !Deno.args.includes("--no-lock");
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ stock: 5, sold: 0 }));
  const lock = useLock ? new mp.Lock() : null;
  const buyers = 20;
  const opens = new mp.Barrier(buyers);
  const handedOut = new mp.Value("i", 0);
  const ps = Array.from({ length: buyers }, () => {
    const p = new mp.Process({
      target: buy,
      args: [path, lock, opens, handedOut],
    });
    p.start();
    return p;
  });
  for (const p of ps) await p.join();
  const final = JSON.parse(await Deno.readTextFile(path)) as Stock;
  await Deno.remove(path);
  console.log(
    `${useLock ? "with" : "without"} a lock: stock 5, ${buyers} buyers, ` +
      `${handedOut.value} tickets handed out; ` +
      `the file says ${final.sold} sold and ${final.stock} left`,
  );
  if (handedOut.value !== 5) console.log("oversold: that is the race");
}
