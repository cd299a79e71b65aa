/**
 * The "subprocess" start method: a process that is a real OS child (its
 * own pid), and a sandboxed pool whose task is denied file access.
 *
 * Run: deno run --allow-all examples/process_subprocess.ts
 */
import * as mp from "../mod.ts";

export function hello(who: string): void {
  console.log(
    `hello ${who} from pid ${Deno.pid} (${mp.currentProcess().name})`,
  );
}

/** An "untrusted" task: it tries to read a file. */
export function peek(path: string): string {
  return Deno.readTextFileSync(path);
}

export function square(n: number): number {
  return n * n;
}

if (import.meta.main) {
  const p = new mp.Process({
    target: hello,
    args: ["world"],
    startMethod: "subprocess",
  });
  p.start();
  console.log(`main pid ${Deno.pid}, child pid ${p.pid}`);
  await p.join();
  console.log(`child exit code: ${p.exitCode}`);

  // Every worker of this pool runs with no permissions at all.
  await using pool = new mp.Pool(1, {
    startMethod: "subprocess",
    permissions: "none",
  });
  try {
    await pool.apply(peek, ["/etc/hostname"]);
  } catch (err) {
    const e = err as mp.ProcessError;
    console.log(`sandboxed task failed: ${e.remoteName}: ${e.remoteMessage}`);
  }
  console.log(`the pool goes on: ${await pool.apply(square, [7])}`);
}
