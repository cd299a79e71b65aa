/**
 * A `Process` subclass overriding `run()`; its own fields are cloned to
 * the child.
 *
 * Run: deno run --allow-all examples/process_subclass.ts
 */
import * as mp from "../mod.ts";

export class Countdown extends mp.Process {
  from: number;
  constructor(from: number) {
    super();
    this.from = from;
  }
  override run(): void {
    for (let i = this.from; i > 0; i--) console.log(`${this.name}: ${i}`);
    console.log(`${this.name}: liftoff`);
  }
}

if (import.meta.main) {
  const procs = [new Countdown(3), new Countdown(2)];
  for (const p of procs) p.start();
  for (const p of procs) await p.join();
}
