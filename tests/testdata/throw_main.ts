// A target that throws: the child prints a traceback-like report to
// stderr and its exit code is 1.
import { Process } from "../../mod.ts";
import { useTestStartMethod } from "./start_method_env.ts";

export function brew(what: string): never {
  throw new RangeError(`no more ${what}`);
}

if (import.meta.main) {
  useTestStartMethod();
  const p = new Process({ target: brew, args: ["tea"], name: "Brewer" });
  p.start();
  await p.join();
  console.log(`exitCode=${p.exitCode}`);
}
