// A process whose target leaves a promise rejection unhandled: prints its
// exit code (the child prints the error on stderr).
import { Process } from "../../mod.ts";
import { rejectUnhandled } from "./stop_tasks.ts";
import { useTestStartMethod } from "./start_method_env.ts";

if (import.meta.main) {
  useTestStartMethod();
  const p = new Process({
    name: "Rejecter",
    target: rejectUnhandled,
    module: new URL("./stop_tasks.ts", import.meta.url),
  });
  p.start();
  await p.join();
  console.log(`exitCode=${p.exitCode}`);
}
