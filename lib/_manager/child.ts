/**
 * Starting and stopping a manager's server as an OS process of its own
 * (`_manager/child_entry.ts`), as Python's manager is. A server that runs
 * out of memory then dies alone: V8's out-of-memory is fatal to the whole
 * process it happens in, and in Deno 2.9 a worker thread given
 * `resourceLimits` that hits them neither reports it nor releases its
 * sockets while it serves (measured), so a thread cannot give that
 * guarantee. The parent sees the exit and says why
 * ({@linkcode ServerProcess.died}).
 *
 * The process is unref'd while it serves, so a program that forgets
 * `shutdown()` still ends when its main module is done; the server sees
 * its stdin close and ends too.
 *
 * @module
 */

import type { ServerOptions } from "./server.ts";
import type { Address } from "./wire.ts";
import { toBase64 } from "./values.ts";
import type { ResourceLimits } from "../_launch/worker_spawn.ts";
import {
  checkCanStart,
  libraryHost,
  withLibraryImport,
} from "../_launch/entry.ts";
import { parentFlags, withV8Flags } from "../_launch/child_flags.ts";
import { settlesWithin } from "../_common/timer.ts";

const ENTRY = new URL("./child_entry.ts", import.meta.url);

/**
 * Whether this program may start the server as a process (`--allow-run`
 * for `deno` itself); without it the server is a thread.
 *
 * @returns Whether it may.
 */
export function canStartServerProcess(): boolean {
  try {
    return Deno.permissions.querySync({
      name: "run",
      command: Deno.execPath(),
    }).state === "granted";
  } catch {
    return false;
  }
}

/** A running server process. */
export class ServerProcess {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stopping: Promise<void> | undefined;
  /** The address the server listens on. */
  readonly address: Address;
  /**
   * Resolves, with why, if the process ends without being stopped (it
   * ran out of memory, or was killed); never resolves otherwise.
   */
  readonly died: Promise<string>;

  private constructor(
    child: Deno.ChildProcess,
    stdin: WritableStreamDefaultWriter<Uint8Array>,
    address: Address,
  ) {
    this.#child = child;
    this.#stdin = stdin;
    this.address = address;
    this.died = child.status.then((s) =>
      this.#stopping === undefined
        ? deathCause(s)
        : new Promise<never>(() => {})
    );
  }

  /**
   * Starts a server process and waits until it listens.
   *
   * @param options The server's options.
   * @param limits The process's memory limits.
   * @returns The process.
   * @throws {Deno.errors.AddrInUse|Deno.errors.NotCapable|Error} When the
   * server cannot listen.
   */
  static async start(
    options: ServerOptions,
    limits: ResourceLimits = {},
  ): Promise<ServerProcess> {
    const where = `${options.hostname}:${options.port}`;
    // The same permission checks, and messages, as for a server thread.
    checkCanStart("manager", `start the manager at '${where}'`, {
      hostname: options.hostname,
      port: options.port,
    });
    const v8: string[] = [];
    if (limits.maxOldGenerationSizeMb) {
      v8.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
    }
    const imports = withLibraryImport(null, libraryHost());
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        // Any port of its host: port 0 picks one.
        `--allow-net=${
          options.hostname.includes(":")
            ? `[${options.hostname}]`
            : options.hostname
        }`,
        ...(imports === null
          ? []
          : [`--allow-import${imports === true ? "" : `=${imports}`}`]),
        // The server imports only its own modules, by relative paths: it
        // needs no config file (looking one up costs a start ~4 ms).
        "--no-config",
        ...withV8Flags(
          parentFlags().filter((f) =>
            !/^--(no-)?config\b|^--import-map\b/.test(f)
          ),
          v8,
        ),
        ENTRY.href,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const stdin = child.stdin.getWriter();
    let first: {
      t: string;
      address?: Address;
      name?: string;
      message?: string;
    };
    try {
      await stdin.write(new TextEncoder().encode(
        `${
          JSON.stringify({ ...options, authkey: toBase64(options.authkey) })
        }\n`,
      ));
      first = JSON.parse(await firstLine(child.stdout));
    } catch {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      throw new Error(
        `Cannot start the manager at '${where}': its server process ended before it listened`,
      );
    }
    if (first.t === "ready") {
      child.unref();
      return new ServerProcess(child, stdin, first.address!);
    }
    await child.status;
    const C = (Deno.errors as unknown as Record<string, ErrorConstructor>)[
      first.name ?? ""
    ] ?? Error;
    throw new C(`Cannot start the manager at '${where}': ${first.message}`);
  }

  /** Resolves when the process has ended; keeps the program alive until then. */
  async ended(): Promise<void> {
    this.#child.ref();
    await this.#child.status;
  }

  /** Closes the server (ending its connections) and ends the process. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#child.ref();
    try {
      await this.#stdin.write(new TextEncoder().encode("shutdown\n"));
      await this.#stdin.close();
    } catch {
      // The process is already gone.
    }
    try {
      await settlesWithin(this.#child.status, 2000);
    } catch {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await this.#child.status;
  }
}

/** Reads the first line of `stream`, then lets go of it. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    // Nothing more comes on stdout; a pending read would keep the
    // program alive. Not awaited: the line is what the caller waits for.
    reader.cancel().catch(() => {});
  }
  return text.slice(0, text.indexOf("\n"));
}

/** Why a server process ended by itself. */
function deathCause(s: Deno.CommandStatus): string {
  // V8 aborts a process out of memory with a trap (exit 133).
  if (s.signal === "SIGTRAP" || s.code === 133) {
    return "its server process ran out of memory (give it more with the 'resourceLimits' option)";
  }
  if (s.signal !== null) return `its server process was killed (${s.signal})`;
  return `its server process exited with code ${s.code}`;
}
