// Runs a Deno program as a child OS process and collects what it printed.
// The child is killed if it has not exited after `timeoutSeconds`, so a
// program that hangs fails its test instead of hanging the suite.

export interface DenoRun {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export async function runDeno(
  file: string,
  args: string[] = [],
  timeoutSeconds = 30,
  env: Record<string, string> = {},
): Promise<DenoRun> {
  const path = new URL(file, import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", path, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env,
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutSeconds * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    timedOut,
  };
}
