/**
 * One child process that prints its name, pid and parent.
 *
 * Run: deno run --allow-all examples/process_basic.ts
 */
import * as mp from "../mod.ts";

export function info(title: string): void {
  const me = mp.currentProcess();
  console.log(title);
  console.log(`  process: ${me.name} (pid ${Deno.pid}, thread ${me.ident})`);
  console.log(`  parent:  ${mp.parentProcess()?.name ?? "none"}`);
}

if (import.meta.main) {
  info("main line");
  const p = new mp.Process({ target: info, args: ["function info"] });
  p.start();
  await p.join();
  console.log(`child exit code: ${p.exitCode}`);
}
