/** Task functions the cluster tests run on worker hosts. */

export function square(n: number): number {
  return n * n;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function fail(message: string): never {
  throw new RangeError(message);
}

/** Returns `n` after `ms` milliseconds. */
export async function slow(n: number, ms = 30): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return n;
}

/** Busy for `ms` of CPU time, then returns `n`. */
export function spin(n: number, ms = 1): number {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* busy */ }
  return n;
}

/** Appends a line to `path` every 20 ms, for ever (until stopped). */
export async function tick(path: string): Promise<void> {
  for (;;) {
    await Deno.writeTextFile(path, "x\n", { append: true });
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills the process that runs it (a worker host), once per marker file. */
export function killHost(marker: string): string {
  Deno.writeTextFileSync(marker, "x\n", { append: true });
  Deno.kill(Deno.pid, "SIGKILL");
  return "unreachable";
}

/** Writes `path` (to tell that it ran), returns its argument. */
export function touch(path: string): string {
  Deno.writeTextFileSync(path, "ran\n", { append: true });
  return path;
}

/** Appends to `path`, then returns after `ms` (a long task). */
export async function touchSlow(path: string, ms: number): Promise<string> {
  await Deno.writeTextFile(path, "ran\n", { append: true });
  await new Promise((r) => setTimeout(r, ms));
  return path;
}

/** Puts `from..to-1` into the broker queue `name` (from a task). */
export async function produce(
  broker: string,
  name: string,
  from: number,
  to: number,
): Promise<number> {
  const { Queue } = await import("../../lib/cluster.ts");
  await using q = new Queue<number>({ broker, name, maxsize: 10 });
  for (let i = from; i < to; i++) await q.put(i);
  return to - from;
}

/** Returns its argument (a no-op task for benchmarks). */
export function noop(x: unknown): unknown {
  return x;
}
