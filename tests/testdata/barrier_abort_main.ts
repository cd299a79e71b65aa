// A served Barrier under attack (issue 11.1): two "subprocess" children
// loop on `await b.wait(t)` while a third loops on `b.abort(); b.reset()`.
// The parent serves all three on its main thread; it must keep turning
// its event loop and end. Prints the children's exit codes and how many
// times the parent's own timer ran meanwhile.
import * as mp from "../../mod.ts";

/**
 * Says it is ready, waits for the go, then runs `step` over and over for
 * `ms` (awaiting it only when it returns a promise).
 */
async function afterGo(
  ready: mp.Semaphore,
  go: mp.Event,
  ms: number,
  step: () => void | Promise<void>,
): Promise<void> {
  ready.release();
  await go.wait(60);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const stepping = step();
    if (stepping) await stepping;
  }
}

/** Waits at `b` for 5 ms at a time, from the go for `ms`. */
export function waiter(
  b: mp.Barrier,
  ready: mp.Semaphore,
  go: mp.Event,
  ms: number,
): Promise<void> {
  return afterGo(ready, go, ms, async () => {
    try {
      await b.wait(0.005);
    } catch (err) {
      if (!(err instanceof mp.BrokenBarrierError)) throw err;
    }
  });
}

/** Aborts and resets `b`, from the go for `ms`. */
export function breaker(
  b: mp.Barrier,
  ready: mp.Semaphore,
  go: mp.Event,
  ms: number,
): Promise<void> {
  return afterGo(ready, go, ms, () => {
    b.abort();
    b.reset();
  });
}

if (import.meta.main) {
  const ms = Number(Deno.args[0] ?? 1500);
  const b = new mp.Barrier(2);
  const ready = new mp.Semaphore(0);
  const go = new mp.Event();
  const args = [b, ready, go, ms];
  const ps = [waiter, waiter, breaker].map((target) =>
    new mp.Process({ target, args, startMethod: "subprocess" })
  );
  for (const p of ps) p.start();
  for (let i = 0; i < ps.length; i++) await ready.acquire();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  go.set();
  for (const p of ps) await p.join();
  clearInterval(ticker);
  console.log(`exit ${ps.map((p) => p.exitCode).join(" ")}`);
  console.log(`ticks ${ticks}`);
}
