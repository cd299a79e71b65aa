/**
 * Run a command and get its exit code, like Python's `subprocess.call`,
 * then capture a command's output with `checkOutput`.
 *
 * Run with: deno run --allow-run examples/subprocess_call.ts
 *
 * @module
 */
import * as mp from "../mod.ts";

if (import.meta.main) {
  // The child writes straight to our terminal (its stdout is inherited).
  const code = await mp.call(["ls", "-l"]);
  console.log(`ls -l exited with code ${code}`);

  // No shell: "$HOME" reaches echo as it is written.
  await mp.call(["echo", "no shell:", "$HOME"]);
  // With a shell the same text is expanded.
  await mp.call("echo with shell: $HOME", { shell: true });

  // checkOutput captures stdout and throws if the command fails.
  const greeting = await mp.checkOutput(["echo", "hello from a child"], {
    text: true,
  });
  console.log(`captured: ${JSON.stringify(greeting)}`);

  try {
    await mp.checkCall(["sh", "-c", "exit 3"]);
  } catch (error) {
    if (!(error instanceof mp.CalledProcessError)) throw error;
    console.log(`checkCall failed as expected: ${error.message}`);
  }
}
