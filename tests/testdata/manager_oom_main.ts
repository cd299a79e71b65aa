// A manager whose server runs out of memory (issue 10.8): the program
// must survive, and every proxy call, in this process and in a child,
// must fail saying the manager died and why. Prints what it saw.
import * as mp from "../../mod.ts";

/** Waits for `go`, then calls the proxy; reports what happened. */
export async function useAfter(
  l: mp.ListProxy<number>,
  go: mp.Event,
  out: mp.Queue<string>,
): Promise<void> {
  await l.append(1); // connected before the manager dies
  await go.wait(60);
  try {
    await l.append(2);
    await out.put("child: call passed");
  } catch (e) {
    await out.put(`child ${(e as Error).name}: ${(e as Error).message}`);
  }
}

if (import.meta.main) {
  const m = await mp.Manager({
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  const l = await m.list<number>([0]);
  const go = new mp.Event();
  const out = new mp.Queue<string>();
  const p = new mp.Process({ target: useAfter, args: [l, go, out] });
  p.start();
  while ((await l.length()) < 2) await new Promise((r) => setTimeout(r, 10));
  const report = (what: string, e: unknown) =>
    console.log(`${what} ${(e as Error).name}: ${(e as Error).message}`);
  try {
    await m.Array("i", 5e7); // 400 MB of JS array on a 64 MB heap
    console.log("big: made");
  } catch (e) {
    report("big", e);
  }
  try {
    await l.append(3);
    console.log("later: call passed");
  } catch (e) {
    report("later", e);
  }
  go.set();
  console.log(await out.get({ timeout: 60 }));
  await p.join();
  await m.shutdown();
  await using m2 = await mp.Manager();
  const d = await m2.dict<string, number>();
  await d.set("a", 1);
  console.log(`new manager: ${await d.get("a")}`);
}
