/**
 * Argument checks of `subprocess.ts` and `Popen`: each bad argument is a
 * `TypeError` (or `RangeError`) naming the action, the argument and what
 * it got; and the argv a command line becomes.
 *
 * @module
 */

import { describe } from "../_common/check.ts";
import {
  type CommandLine,
  DEVNULL,
  INHERIT,
  PIPE,
  type StderrOption,
  STDOUT,
} from "./options.ts";

export function checkObject(options: unknown, action: string): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action}: options must be an object, got ${describe(options)}`,
    );
  }
}

export function checkFlag(value: unknown, name: string, action: string): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: '${name}' must be true or false, got ${
        describe(value)
      }`,
    );
  }
}

export function checkInput(input: unknown, action: string): void {
  if (
    input !== undefined && typeof input !== "string" &&
    !(input instanceof Uint8Array)
  ) {
    throw new TypeError(
      `Cannot ${action}: 'input' must be a string or Uint8Array, got ${
        describe(input)
      }`,
    );
  }
}

export function checkEnv(env: unknown, action: string): void {
  if (env === undefined) return;
  if (env === null || typeof env !== "object" || Array.isArray(env)) {
    throw new TypeError(
      `Cannot ${action}: 'env' must be an object of strings, got ${
        describe(env)
      }`,
    );
  }
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot ${action}: env '${key}' must be a string, got ${
          describe(value)
        }`,
      );
    }
  }
}

/** Checks a stream choice; only `stderr` may be `STDOUT`. */
export function stdioFor(
  value: unknown,
  name: "stdin" | "stdout" | "stderr",
  action: string,
): StderrOption {
  if (value === undefined) return INHERIT;
  if (value === PIPE || value === INHERIT || value === DEVNULL) return value;
  if (value === STDOUT && name === "stderr") return value;
  const allowed = name === "stderr"
    ? "PIPE, INHERIT, DEVNULL or STDOUT"
    : "PIPE, INHERIT or DEVNULL";
  throw new TypeError(
    `Cannot ${action}: '${name}' must be ${allowed}, got ${describe(value)}`,
  );
}

/** The argv to spawn: `[program, ...args]`. */
export function commandFor(
  cmd: unknown,
  shell: unknown,
  action: string,
): [string, ...string[]] {
  let argv: string[];
  if (typeof cmd === "string") {
    argv = [cmd];
  } else if (Array.isArray(cmd)) {
    cmd.forEach((arg, i) => {
      if (typeof arg !== "string") {
        throw new TypeError(
          `Cannot ${action}: argument ${i} must be a string, got ${
            describe(arg)
          }`,
        );
      }
    });
    argv = [...cmd];
  } else {
    throw new TypeError(
      `Cannot ${action}: the command must be a string or an array of strings, got ${
        describe(cmd)
      }`,
    );
  }
  if (argv.length === 0 || argv[0] === "") {
    throw new RangeError(`Cannot ${action}: the command is empty`);
  }
  if (shell === true) {
    // As in Python: the first item is the command line, the rest become
    // the shell's positional parameters ($0, $1, ...).
    return Deno.build.os === "windows"
      ? ["cmd.exe", "/d", "/s", "/c", ...argv]
      : ["/bin/sh", "-c", ...argv];
  }
  return argv as [string, ...string[]];
}

export function cmdList(cmd: CommandLine): string[] {
  return typeof cmd === "string" ? [cmd] : [...cmd];
}
