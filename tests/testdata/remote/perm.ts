// Run by tests/remote_test.ts with too few permissions: prints, per line,
// what each way of starting a process answers.
import * as mp from "@seed/multiprocessing";

const TAG = "from perm.ts";

/** Reads module state, so it works only when taken from this module. */
export function tagged(n: number): string {
  return `${n} ${TAG}`;
}

async function attempt(what: string, fn: () => Promise<unknown>) {
  try {
    console.log(`${what}: ok ${JSON.stringify(await fn())}`);
  } catch (e) {
    const err = e as Error;
    console.log(`${what}: ${err.name}: ${err.message}`);
  }
}

if (import.meta.main) {
  for (const method of ["worker", "subprocess"] as const) {
    await attempt(`${method} pool`, async () => {
      await using pool = new mp.Pool(1, { startMethod: method });
      return await pool.apply(tagged, [1]);
    });
    await attempt(`${method} process`, async () => {
      const p = new mp.Process({ target: tagged, startMethod: method });
      p.start();
      await p.join();
      return p.exitCode;
    });
  }
  await attempt("manager", async () => {
    await using m = await mp.Manager();
    return await (await m.dict()).toObject();
  });
  await attempt("served manager", async () => {
    const server = await mp.serveManager({
      address: ["127.0.0.1", 45999],
      authkey: "secret",
    });
    await server.shutdown();
  });
}
