// A target that throws: the child prints a traceback-like report to
// stderr and its exit code is 1.
import { Process } from "../../mod.ts";
import { useTestStartMethod } from "./start_method_env.ts";

export function brew(what: string): never {
  throw new RangeError(`no more ${what}`);
}

export function throwValue(value: unknown): never {
  throw value;
}

if (import.meta.main) {
  useTestStartMethod();
  const p = new Process({ target: brew, args: ["tea"], name: "Brewer" });
  p.start();
  await p.join();
  console.log(`exitCode=${p.exitCode}`);
  const q = new Process({
    target: throwValue,
    args: [{ code: 7 }],
    name: "Thrower",
  });
  q.start();
  await q.join();
  console.log(`thrower exitCode=${q.exitCode}`);
}
