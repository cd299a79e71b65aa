// A program that starts a process spinning in a busy loop, terminates it,
// and must then exit by itself (Deno's web Worker.terminate() cannot stop
// such a worker; this module's processes can).
import { Process } from "../../mod.ts";
import { spin } from "./tasks.ts";
import { useTestStartMethod } from "./start_method_env.ts";

if (import.meta.main) {
  useTestStartMethod();
  const p = new Process({ target: spin });
  p.start();
  await new Promise((r) => setTimeout(r, 100));
  console.log(`alive=${p.isAlive()}`);
  p.terminate();
  await p.join();
  console.log(`exitCode=${p.exitCode} alive=${p.isAlive()}`);
}
