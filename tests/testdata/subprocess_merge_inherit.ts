// Runs a child whose stderr is merged into an inherited stdout, so the
// test that starts this script can check where the text landed.
import { run, STDOUT } from "../../lib/subprocess.ts";

const done = await run(["sh", "-c", "echo to-stderr >&2"], { stderr: STDOUT });
Deno.exit(done.returncode);
