// A program with one busy "subprocess" child (a non-daemon process in an
// endless synchronous loop): prints the child's pid once it runs, then
// idles until the test signals it (SIGKILL, SIGINT or SIGHUP).
import { Process } from "../../mod.ts";

if (import.meta.main) {
  const path = Deno.makeTempFileSync();
  const p = new Process({
    // Self-contained: shipped by its source.
    target: (marker: string) => {
      Deno.writeTextFileSync(marker, "running");
      for (;;) {
        // Busy: it never yields to notice that its parent is gone.
      }
    },
    args: [path],
    startMethod: "subprocess",
  });
  p.start();
  while (Deno.readTextFileSync(path) !== "running") {
    await new Promise((r) => setTimeout(r, 10));
  }
  Deno.removeSync(path);
  console.log(JSON.stringify(p.pid));
  setInterval(() => {}, 1000);
}
