// Run as `deno run -A --v8-flags=--expose-gc --unstable-kv flags_main.ts`:
// starts a "subprocess" process that reports which of the parent's flags
// it has, on stdout, as JSON.
import * as mp from "../../mod.ts";

/** Reports the flags this process runs with. */
export function report(): void {
  console.log(JSON.stringify({
    gc: typeof (globalThis as { gc?: unknown }).gc === "function",
    kv: typeof (Deno as { openKv?: unknown }).openKv === "function",
    pid: Deno.pid,
  }));
}

if (import.meta.main) {
  const p = new mp.Process({ target: report, startMethod: "subprocess" });
  p.start();
  await p.join();
  Deno.exit(p.exitCode ?? 99);
}
