/**
 * A daemon process ends when the main program finishes; a non-daemon one
 * is waited for.
 *
 * Run: deno run --allow-all examples/daemon_processes.ts
 */
import * as mp from "../mod.ts";

export async function tick(label: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    console.log(`${label} tick ${i}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (import.meta.main) {
  const daemon = new mp.Process({
    target: tick,
    args: ["daemon", 1000],
    daemon: true,
  });
  const worker = new mp.Process({ target: tick, args: ["non-daemon", 3] });
  daemon.start();
  worker.start();
  console.log("main module done: the program waits for the non-daemon only");
}
