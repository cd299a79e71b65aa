// A program whose "subprocess" children are killed while the parent waits
// for them on an Event, a Lock and a Condition it serves them: it must
// still end by itself once its own work is done.
import * as mp from "../../mod.ts";

/** Says it is waiting, then waits on `event`, `lock` and `cond`. */
export async function waitForever(
  what: string,
  event: mp.Event,
  lock: mp.Lock,
  cond: mp.Condition,
  out: mp.Queue<string>,
): Promise<void> {
  if (what === "event") {
    const p = event.wait();
    await out.put("waiting");
    await p;
  } else if (what === "lock") {
    const p = lock.acquire();
    await out.put("waiting");
    await p;
  } else {
    await cond.acquire();
    const p = cond.wait();
    await out.put("waiting");
    await p;
  }
}

if (import.meta.main) {
  const event = new mp.Event();
  const lock = new mp.Lock();
  await lock.acquire();
  const cond = new mp.Condition();
  const out = new mp.Queue<string>();
  for (const what of ["event", "lock", "cond"]) {
    const p = new mp.Process({
      target: waitForever,
      args: [what, event, lock, cond, out],
      startMethod: "subprocess",
    });
    p.start();
    await out.get({ timeout: 30 });
    p.kill();
    await p.join();
  }
  console.log("done");
}
