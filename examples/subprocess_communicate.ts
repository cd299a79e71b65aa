/**
 * Start `sort` with `Popen`, feed it lines through `communicate()` and read
 * what it prints, like Python's `Popen(...).communicate(input)`.
 *
 * Run with: deno run --allow-run examples/subprocess_communicate.ts
 *
 * @module
 */
import * as mp from "../mod.ts";

if (import.meta.main) {
  const fruit = ["pear", "apple", "fig", "banana"];

  // `await using` kills the child if something throws before it ends.
  await using proc = new mp.Popen(["sort"], {
    stdin: mp.PIPE,
    stdout: mp.PIPE,
    stderr: mp.PIPE,
    text: true,
  });
  // Writes stdin, reads stdout and stderr, and waits, all at once.
  const [out, err] = await proc.communicate(fruit.join("\n") + "\n", {
    timeout: 10,
  });

  console.log(`sort (pid ${proc.pid}) exited with code ${proc.returncode}`);
  console.log("sorted:", out?.trimEnd().split("\n"));
  if (err) console.log("stderr:", err);
}
