// The main module finishes while a daemon process still runs forever and
// a non-daemon process runs briefly: the program waits for the latter
// only, then exits (the daemon ends with it).
import { Process } from "../../mod.ts";
import { sleepThen, spin } from "./tasks.ts";
import { useTestStartMethod } from "./start_method_env.ts";

if (import.meta.main) {
  useTestStartMethod();
  const d = new Process({ target: spin, daemon: true });
  d.start();
  const n = new Process({ target: sleepThen, args: [200, null] });
  n.start();
  console.log(`daemon alive=${d.isAlive()}`);
}
