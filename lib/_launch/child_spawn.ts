/**
 * Starting a `deno` OS child for a `Process` or a pool worker (the
 * `"subprocess"` start method), and the exchange both sides go through.
 *
 * ```text
 *   parent                                  child (deno run child_entry.ts)
 *   ------                                  -----
 *   listen on a socket, spawn  ──stdin──►  {"path":…,"token":…}\n
 *                                 ◄──sock─  { token }          (handshake)
 *   init (ProcessInit | PoolInit) ──sock─►  runChild(init, port)
 *   RunMessage frames             ──sock─►  run each task in order
 *                                 ◄──sock─  DoneMessage frames
 *   parent ends: stdin EOF ──────────────►  child exits (no orphans)
 * ```
 *
 * The child's stdout and stderr are the parent's (inherited); its stdin is
 * a pipe the parent holds open, so the child sees EOF when the parent
 * dies, however it dies. A child busy in synchronous code never reads
 * that EOF, so on Linux the child also gets a parent-death signal: it is
 * started through util-linux's `setpriv --pdeathsig KILL` (present on
 * Debian and most distributions), which sets `PR_SET_PDEATHSIG` and then
 * execs `deno` (same pid). The kernel kills the child the moment the
 * thread that spawned it ends: the program's main thread, or the worker
 * thread that started it (which waits for its non-daemon children
 * first). Where `setpriv` is missing or `--allow-run` does not cover it,
 * the child is started directly and relies on EOF alone. The socket (Unix domain; loopback TCP on
 * Windows) carries frames: a u32
 * little-endian length, then an item encoded by `_shm/codec.ts` (a fast
 * tagged encoding for plain data, `node:v8` serialization for the rest),
 * so messages keep structured-clone semantics (Map, Date, BigInt, typed
 * arrays, errors). The token (sent over the private stdin pipe, never in
 * argv or the environment) keeps other local programs from taking the
 * child's place on the port.
 *
 * {@linkcode ChildThread} gives the parent the subset of a
 * `node:worker_threads` Worker that `process.ts` and `_pool/engine.ts` use
 * (`ProcessThread`), so `_launch/launch.ts` can hand out either.
 *
 * @module
 */

import type { PoolInit, ProcessInit } from "./protocol.ts";
import { checkNoSharedMemory } from "../_common/transfer.ts";
import { ServedPeer } from "../_served/host.ts";
import type { SyncAddress } from "../_served/spec.ts";
import type { ResourceLimits } from "./worker_spawn.ts";
import { parentFlags, withV8Flags } from "./child_flags.ts";
import { checkCanStart, libraryHost, withLibraryImport } from "./entry.ts";
import { encodeFrame } from "./frames.ts";
import { type Grants, KINDS, resolveGrants, sandboxed } from "./permissions.ts";
import {
  type ChannelAddress,
  closeLocal,
  listenLocal,
  reserveSyncPath,
} from "./sockets.ts";
import { SyncEndpoint } from "./child_served.ts";
import { ChildThread } from "./child_thread.ts";

const ENTRY = new URL("./child_entry.ts", import.meta.url);

/** Options of {@linkcode spawnChild}. */
export interface ChildOptions {
  /** The child's Deno permissions; `undefined` inherits the parent's. */
  permissions?: Deno.PermissionOptions;
  /** Memory limits, passed as V8 flags. */
  resourceLimits?: ResourceLimits;
  /**
   * Module URLs the child may import functions from. When the child may
   * not read files freely, they are listed in its entry so that Deno
   * loads them with the program (which needs no read permission).
   */
  modules?: string[];
}

function childArgs(
  address: ChannelAddress,
  options: ChildOptions,
  grants: Grants,
  syncPath: string | undefined,
): string[] {
  const args = ["run", "--no-prompt"];
  const paths = "path" in address
    ? [address.path, ...(syncPath === undefined ? [] : [syncPath])]
    : [];
  for (const kind of KINDS) {
    let g = kind === "import"
      ? withLibraryImport(grants.import, libraryHost())
      : grants[kind];
    // The channels to the parent, and nothing else, when a kind is
    // limited. (Deno checks read, write and net access to a Unix socket.)
    const channel = "path" in address
      ? (kind === "read" || kind === "write"
        ? paths
        : kind === "net"
        ? paths.map((p) => `unix:${p}`)
        : null)
      : (kind === "net" ? [`127.0.0.1:${address.port}`] : null);
    if (channel !== null && g !== true) g = [...(g || []), ...channel];
    if (g === true) args.push(`--allow-${kind}`);
    else if (Array.isArray(g)) args.push(`--allow-${kind}=${g.join(",")}`);
  }
  const limits = options.resourceLimits;
  const v8: string[] = [];
  if (limits !== undefined) {
    if (limits.maxOldGenerationSizeMb) {
      v8.push(`--max-old-space-size=${limits.maxOldGenerationSizeMb}`);
    }
    if (limits.maxYoungGenerationSizeMb) {
      // V8's young generation is about three semi-spaces.
      v8.push(
        `--max-semi-space-size=${
          Math.max(1, Math.ceil(limits.maxYoungGenerationSizeMb / 3))
        }`,
      );
    }
    if (limits.stackSizeMb) {
      v8.push(`--stack-size=${Math.floor(limits.stackSizeMb * 1024)}`);
    }
  }
  // The program's own runtime flags (V8, unstable features, module
  // resolution), as Python's spawn passes the interpreter's flags on.
  args.push(...withV8Flags(parentFlags(), v8));
  const modules = (options.modules ?? []).filter((m) => m.startsWith("file:"));
  if (grants.read !== true && modules.length > 0) {
    args.push(entryListing(modules));
  } else {
    args.push(ENTRY.href);
  }
  return args;
}

/**
 * A `data:` entry that runs `_launch/child_entry.ts` and names `modules` in
 * dynamic imports with literal specifiers: Deno loads those with the
 * program's module graph, without a read permission check, and the later
 * `import(url)` of one of them (when a function is looked up) finds it
 * loaded. They are not evaluated before that import.
 */
function entryListing(modules: string[]): string {
  const lines = [
    `import ${JSON.stringify(ENTRY.href)};`,
    "if (false) {",
    ...modules.map((m) => `  await import(${JSON.stringify(m)});`),
    "}",
  ];
  const bytes = new TextEncoder().encode(lines.join("\n"));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `data:application/typescript;base64,${btoa(bin)}`;
}

/** Where `setpriv` may be (util-linux). */
const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

/** `undefined` until looked for; then the path, or `null` for none. */
let setprivPath: string | null | undefined;

/**
 * The `setpriv` that starts a child with a parent-death signal (see the
 * module doc), or `null` where there is none this program may run.
 */
function deathSignalWrapper(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (Deno.build.os !== "linux") return null;
  for (const path of SETPRIV_PATHS) {
    try {
      const run = Deno.permissions.querySync({ name: "run", command: path });
      if (run.state !== "granted") continue;
      if (!Deno.statSync(path).isFile) continue;
      setprivPath = path;
      break;
    } catch {
      // Not there, or not readable here: try the next, or go without.
    }
  }
  return setprivPath;
}

/**
 * What crosses to the child: the init without its SharedArrayBuffers (an
 * OS process shares no memory). The child makes local ones.
 */
function wireInit(init: ProcessInit | PoolInit): unknown {
  return {
    ...init,
    runtime: { mainModule: init.runtime.mainModule },
    // The parent's key names a slot in a table the child cannot see.
    parent: { ...init.parent, key: 0 },
    state: undefined,
  };
}

/**
 * Starts a `deno` child running `_launch/child_entry.ts` with `init`.
 *
 * @param init What the child runs.
 * @param options Permissions, memory limits and the modules it imports.
 * @returns The child.
 * @throws {TypeError} When an argument holds shared memory.
 * @throws {DOMException} `DataCloneError` when an argument cannot be cloned.
 * @throws {Deno.errors.NotCapable} Without `--allow-run`, or without
 *   `--allow-read` and `--allow-write` for the temporary directory (the
 *   Unix socket; `--allow-net` for 127.0.0.1 on Windows).
 */
export function spawnChild(
  init: ProcessInit | PoolInit,
  options: ChildOptions = {},
): ChildThread {
  const action = `start ${
    init.kind === "pool" ? "pool worker" : "process"
  } '${init.name}'`;
  checkCanStart("subprocess", action);
  const grants = resolveGrants(options.permissions);
  const { listener, address } = listenLocal();
  // A sandboxed child may reach only the paths granted at spawn.
  const syncPath = "path" in address && sandboxed(grants)
    ? reserveSyncPath(address.path)
    : undefined;
  const sync = new SyncEndpoint(syncPath);
  const peer: ServedPeer = new ServedPeer(
    init.runtime.key,
    (): SyncAddress => sync.address(peer),
  );
  let initFrame: Uint8Array;
  let child: Deno.ChildProcess;
  try {
    // Primitives in the arguments become stand-ins the parent serves.
    if (init.kind === "process") {
      init = {
        ...init,
        args: peer.serve(init.args) as unknown[],
        kwargs: peer.serve(init.kwargs) as typeof init.kwargs,
        fields: peer.serve(init.fields) as typeof init.fields,
      };
      checkNoSharedMemory(init.args, action);
      checkNoSharedMemory(init.kwargs, action);
      checkNoSharedMemory(init.fields, action);
    } else {
      init = { ...init, initargs: peer.serve(init.initargs) as unknown[] };
      checkNoSharedMemory(init.initargs, action);
    }
    initFrame = encodeFrame(wireInit(init));
    const args = childArgs(address, options, grants, syncPath);
    const setpriv = deathSignalWrapper();
    child = new Deno.Command(setpriv ?? Deno.execPath(), {
      args: setpriv === null
        ? args
        : ["--pdeathsig", "KILL", "--", Deno.execPath(), ...args],
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (err) {
    closeLocal(listener, address);
    sync.close();
    throw err;
  }
  return new ChildThread(child, listener, address, initFrame, peer, sync);
}
