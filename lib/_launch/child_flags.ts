/**
 * The runtime flags a `deno` child inherits from its program, as Python's
 * spawn passes the interpreter's flags (`-X …`, `-O`) to its children:
 * V8 flags, `--unstable-*` features, and how modules resolve (`--config`,
 * `--import-map`, lock file, `--cached-only` …), so that the child loads
 * the same code the same way. Permissions are not among them: the child
 * gets its own (`permissions` option).
 *
 * Deno does not tell a program its own flags; on Linux they are in
 * `/proc/self/cmdline`, which Deno lets only a program run with
 * `--allow-all` read. Elsewhere, and without it, the child starts with
 * none of them (the README says so), except the config file, which
 * {@linkcode configOf} finds as Deno did.
 *
 * @module
 */

import { pathOf } from "./entry.ts";
import { mainModuleUrl } from "../_common/runtime.ts";

/** Flags passed on as they are (`--flag` or `--flag=value`). */
const PASS = [
  "--v8-flags",
  "--unstable",
  "--config",
  "--no-config",
  "--import-map",
  "--lock",
  "--no-lock",
  "--frozen",
  "--cached-only",
  "--no-remote",
  "--no-npm",
  "--node-modules-dir",
  "--vendor",
  "--location",
  "--seed",
  "--conditions",
  "--cert",
  "--unsafely-ignore-certificate-errors",
  "--no-check",
  "--check",
  "--quiet",
];

/**
 * Flags whose value comes as the next argument when it is not given with
 * `=` (Deno's flags with a required value), passed on or skipped whole.
 */
const TAKES_VALUE = new Set([
  "--config",
  "-c",
  "--import-map",
  "--location",
  "--seed",
  "--cert",
  "--conditions",
  "--filter",
  "--ext",
  "--reporter",
  "--junit-path",
  "--preload",
  "--require",
]);

let cached: string[] | undefined;

/**
 * Picks the flags a child inherits from a `deno` command line.
 *
 * @param argv The program's command line: `deno`, the subcommand, flags,
 *   then the script and its arguments.
 * @returns The flags to give a `deno run` child, `--v8-flags` last.
 */
export function inheritableFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let v8: string | undefined;
  // argv[0] is deno, argv[1] the subcommand (run, test, bench …).
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") break;
    if (!a.startsWith("-")) {
      // The script (or, for test and bench, a path): flags end here.
      break;
    }
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    const canonical = name === "-c" ? "--config" : name;
    const takesNext = TAKES_VALUE.has(name) && !a.includes("=") &&
      i + 1 < argv.length;
    const value = takesNext ? argv[++i] : undefined;
    if (!PASS.some((p) => canonical === p || canonical.startsWith(`${p}-`))) {
      continue;
    }
    if (canonical === "--v8-flags") {
      v8 = a.slice(a.indexOf("=") + 1);
      continue;
    }
    out.push(
      value === undefined
        ? (name === "-c" ? a.replace(/^-c/, "--config") : a)
        : `${canonical}=${value}`,
    );
  }
  if (v8 !== undefined && v8 !== "") out.push(`--v8-flags=${v8}`);
  return out;
}

/**
 * This program's inheritable flags (read once), or none where Deno does
 * not let it see its command line.
 *
 * @returns The flags for a child's `deno run`.
 */
export function parentFlags(): string[] {
  if (cached !== undefined) return cached;
  cached = [];
  if (Deno.build.os !== "linux") return cached;
  try {
    const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    if (argv.at(-1) === "") argv.pop();
    cached = inheritableFlags(argv);
  } catch {
    // Not --allow-all: the child starts without the parent's flags.
  }
  if (!cached.some((f) => /^--(no-)?config\b/.test(f))) {
    // The root program's, also in a worker thread starting a child.
    const config = configOf(mainModuleUrl());
    if (config !== undefined) cached.push(`--config=${config}`);
  }
  return cached;
}

/**
 * The config file Deno found for a program: the first `deno.json` or
 * `deno.jsonc` in its main module's folder or above. A child must be
 * told: Deno looks for one only beside a local main module, and a
 * child's main module is the library's entry, remote when the library
 * was imported from a URL (JSR). Without it the child could not resolve
 * the program's import map when it imports the program's module.
 *
 * @param mainModule The program's main module URL.
 * @returns The config file's path, or `undefined` when there is none (or
 *   the program may not look).
 */
export function configOf(mainModule: string): string | undefined {
  if (!mainModule.startsWith("file:")) return undefined;
  let dir = new URL(".", mainModule);
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const file = new URL(name, dir);
      try {
        if (Deno.statSync(file).isFile) {
          return pathOf(file);
        }
      } catch {
        // Not there, or not readable.
      }
    }
    const up = new URL("..", dir);
    if (up.href === dir.href) return undefined;
    dir = up;
  }
}

/**
 * Merges V8 flags into a child's flag list: one `--v8-flags` holding the
 * inherited ones, then `extra` (later flags win in V8).
 *
 * @param flags Flags from {@linkcode parentFlags}.
 * @param extra V8 flags of the child's own (its memory limits).
 * @returns The flag list.
 */
export function withV8Flags(flags: string[], extra: string[]): string[] {
  if (extra.length === 0) return flags;
  const rest = flags.filter((f) => !f.startsWith("--v8-flags="));
  const inherited = flags.find((f) => f.startsWith("--v8-flags="));
  const v8 = inherited === undefined
    ? extra
    : [inherited.slice("--v8-flags=".length), ...extra];
  return [...rest, `--v8-flags=${v8.join(",")}`];
}
