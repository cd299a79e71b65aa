// A main module WITHOUT the `if (import.meta.main)` guard: its top level
// runs again in every child that re-imports it to find `hello`. Each
// child must refuse to start more (Python's spawn raises RuntimeError in
// its bootstrapping phase), so the program ends after one failed child.
import { Manager, Pool, Process } from "../../mod.ts";
import { useTestStartMethod } from "./start_method_env.ts";

export function hello(): string {
  console.log("hello ran");
  return "hello";
}

useTestStartMethod();
if (Deno.args[0] === "pool") {
  await using pool = new Pool(1);
  try {
    await pool.apply(hello, []);
    console.log("task ok");
  } catch (err) {
    console.log(`task failed: ${(err as Error).message}`);
  }
} else {
  // A manager is a process too (in Python); it is refused the same way.
  await using _m = Deno.args[0] === "manager" ? await Manager() : null;
  const p = new Process({ target: hello });
  p.start();
  await p.join();
  console.log(`exitCode=${p.exitCode}`);
}
