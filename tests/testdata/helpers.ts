// Helpers shared by the test files (one place, so a test file starts with
// its own tests, not with set-up copied from its neighbour):
// - where the test programs are (`testdata`, `TASKS`);
// - running a test under each start method (`eachStartMethod`);
// - starting processes on a task module and joining them (`starter`,
//   `joinAll`);
// - running a Deno program as a child OS process (`runDeno`, `runDenoArgs`)
//   and reading the first line a child prints (`firstLine`);
// - whether an OS process still exists (`pidAlive`).
// Not a test file itself: `deno test` does not pick it up.
import { assertEquals } from "@std/assert";
import { Process, type StartMethod } from "../../mod.ts";
import * as tasks from "./tasks.ts";

/** The URL of `file` in tests/testdata/. */
export function testdata(file: string): URL {
  return new URL(file, import.meta.url);
}

/** The URL of tests/testdata/tasks.ts, the task module most tests use. */
export const TASKS: URL = testdata("tasks.ts");

/** The start methods every Process and Pool test runs under. */
export const START_METHODS: readonly StartMethod[] = ["worker", "subprocess"];

/** What a test registered by `eachStartMethod` gets to know. */
export interface MethodCase {
  /** The start method of every process the test makes. */
  startMethod: StartMethod;
  /** Whether that is "subprocess" (each process an OS child). */
  sub: boolean;
  /**
   * A running task to stop: a busy loop in a child (signals stop it); a
   * blocked library wait in a worker thread, which Deno cannot interrupt
   * while it runs synchronous code (tests/stop_test.ts covers that case).
   */
  busy: typeof tasks.spin | typeof tasks.waitForever;
  /** The environment that makes a helper program use `startMethod`. */
  env: Record<string, string>;
}

/**
 * Registers one test per start method, named `<name> [<method>]`.
 *
 * @param name The test's name, without the method.
 * @param fn The test, given the start method it runs under.
 * @param methods The start methods to run it under (default: all).
 */
export function eachStartMethod(
  name: string,
  fn: (c: MethodCase) => void | Promise<void>,
  methods: readonly StartMethod[] = START_METHODS,
): void {
  for (const startMethod of methods) {
    const sub = startMethod === "subprocess";
    const c: MethodCase = {
      startMethod,
      sub,
      busy: sub ? tasks.spin : tasks.waitForever,
      env: { MP_TEST_START_METHOD: startMethod },
    };
    Deno.test(`${name} [${startMethod}]`, () => fn(c));
  }
}

/**
 * Returns `start(name, args)`: it starts a Process running the export
 * `name` of `module` with `args`, and returns it.
 *
 * @param module The task module (a URL, or its href).
 */
export function starter(
  module: URL | string,
): (name: string, args: unknown[]) => Process {
  return (name, args) => {
    const p = new Process({ target: { module, name }, args });
    p.start();
    return p;
  };
}

/**
 * Joins every process and checks that each target returned normally.
 * A process still running after `seconds` fails the test instead of
 * hanging it.
 */
export async function joinAll(ps: Process[], seconds = 120): Promise<void> {
  await Promise.all(ps.map((p) => p.join(seconds)));
  for (const p of ps) {
    assertEquals(p.exitCode, 0, `${p.name} exited with ${p.exitCode}`);
  }
}

/** What a Deno child program printed, and how it ended. */
export interface DenoRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Whether it was killed for running past its time. */
  timedOut: boolean;
}

/**
 * Runs `deno <args>` as a child OS process and collects what it printed.
 * The child is killed if it has not exited after `timeoutSeconds`, so a
 * program that hangs fails its test instead of hanging the suite.
 */
export async function runDenoArgs(
  args: string[],
  { cwd, env = {}, timeoutSeconds = 30 }: {
    cwd?: string | URL;
    env?: Record<string, string>;
    timeoutSeconds?: number;
  } = {},
): Promise<DenoRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
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

/**
 * Runs the program `file` (relative to tests/testdata/) with
 * `--allow-all`, as `runDenoArgs` does.
 */
export function runDeno(
  file: string,
  args: string[] = [],
  timeoutSeconds = 30,
  env: Record<string, string> = {},
): Promise<DenoRun> {
  const path = new URL(file, import.meta.url).pathname;
  return runDenoArgs(["run", "--allow-all", path, ...args], {
    env,
    timeoutSeconds,
  });
}

/**
 * Reads a child's text output until its first line has come and returns
 * that line (without the "\n"). Throws when the output ends before it.
 *
 * @param reader The child's stdout, decoded.
 */
export async function firstLine(
  reader: ReadableStreamDefaultReader<string>,
): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`The child's output ended before a line: "${text}"`);
    }
    text += value;
  }
  return text.slice(0, text.indexOf("\n"));
}

/** Whether the process with `pid` still exists (a zombie counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
