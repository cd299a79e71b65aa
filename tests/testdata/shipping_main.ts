// Shipping functions from the main module: an exported one is found by
// identity (its imports work in the child); a closure over an outer
// variable fails in the child with an error that says to export it.
import { Process } from "../../mod.ts";
import { square } from "./tasks.ts";
import { useTestStartMethod } from "./start_method_env.ts";

export function usesImport(path: string): void {
  Deno.writeTextFileSync(path, String(square(12)));
}

if (import.meta.main) {
  useTestStartMethod();
  const out = Deno.args[0];
  const p = new Process({ target: usesImport, args: [out] });
  p.start();
  await p.join();
  console.log(`exported exitCode=${p.exitCode}`);
  const secret = 41;
  const q = new Process({ target: () => console.log(secret + 1) });
  q.start();
  await q.join();
  console.log(`closure exitCode=${q.exitCode}`);
}
