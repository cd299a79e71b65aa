/**
 * Facts about the process (thread) this code runs in, shared by every
 * module: a key that names it across the whole program tree, and a table
 * that says whether the holder of a key is still alive.
 *
 * The root program makes the table (a SharedArrayBuffer); every worker
 * gets the same table from its parent, so a lock can tell that its holder
 * died and hand the lock on instead of deadlocking.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** Slots in the liveness table; slot 0 is the key counter. */
const TABLE_SLOTS = 1 << 16;

/**
 * A process's liveness: its slot holds one of these. `Stopping` means its
 * parent asked it to stop (`terminate()`, `kill()`, a pool retiring it):
 * it still counts as alive, since only the thread's own end proves that
 * it no longer runs, but every wait inside the library ends with
 * `StopRequested` once it sees this (see `_shm/wait.ts`).
 */
export const Liveness = { Unused: 0, Alive: 1, Dead: 2, Stopping: 3 } as const;

/** What a child needs to join the program tree (sent by its parent). */
export interface RuntimeInit {
  /** The shared liveness table. */
  table: SharedArrayBuffer;
  /** The key the parent chose for the child. */
  key: number;
  /** The root program's main module URL, for finding exported functions. */
  mainModule: string;
}

let table: Int32Array = new Int32Array(
  new SharedArrayBuffer(TABLE_SLOTS * 4),
);
let key = allocKeyIn(table);
let rootMainModule: string = Deno.mainModule;

function allocKeyIn(t: Int32Array): number {
  const k = (Atomics.add(t, 0, 1) % (TABLE_SLOTS - 1)) + 1;
  Atomics.store(t, k, Liveness.Alive);
  return k;
}

/**
 * Called once by a worker or child entry with what its parent sent.
 *
 * @param init The parent's table, this child's key and the root module.
 */
export function joinRuntime(init: RuntimeInit): void {
  table = new Int32Array(init.table);
  key = init.key;
  rootMainModule = init.mainModule;
}

/**
 * Makes the key and init message for a new child of this process.
 *
 * @returns What to send to the child.
 */
export function childRuntime(): RuntimeInit {
  return {
    table: table.buffer as SharedArrayBuffer,
    key: allocKeyIn(table),
    mainModule: rootMainModule,
  };
}

/**
 * Whom a parent acts for while it serves a primitive to a `"subprocess"`
 * child (`_served/host.ts`), and the waits it has pending for that child.
 */
export interface ActingFor {
  /** The child's key. */
  readonly key: number;
  /** Keep-alive timers of the waits pending for the child (`_shm/wait.ts`). */
  readonly timers: Set<ReturnType<typeof setInterval>>;
  /** Set once the child has ended: its waits no longer keep this alive. */
  ended: boolean;
}

/** Made on first use, so a program that serves nothing pays one check. */
let actingAs: AsyncLocalStorage<ActingFor> | undefined;

/** This process's key (never 0), or the key it acts as (see {@linkcode runAs}). */
export function currentKey(): number {
  if (actingAs !== undefined) {
    const a = actingAs.getStore();
    if (a !== undefined) return a.key;
  }
  return key;
}

/**
 * Whom this code acts for (see {@linkcode runAs}), or `undefined`.
 *
 * @returns The child served, when inside a served call.
 */
export function actingFor(): ActingFor | undefined {
  return actingAs?.getStore();
}

/**
 * Runs `fn` for a child: {@linkcode currentKey} returns its key inside
 * `fn` and in everything `fn` awaits. A parent serving a Lock to a
 * `"subprocess"` child takes and releases it in the child's name, so
 * ownership, `RLock` counts and a dead holder's hand-on stay right.
 *
 * @param child The child acted for.
 * @param fn What to run.
 * @returns What `fn` returns.
 */
export function runAs<T>(child: ActingFor, fn: () => T): T {
  actingAs ??= new AsyncLocalStorage<ActingFor>();
  return actingAs.run(child, fn);
}

/** Keys of the live `"subprocess"` children this thread serves. */
const servedHere = new Set<number>();

/**
 * Records that this thread serves primitives to a child (or no longer).
 *
 * @param k The child's key.
 * @param on Whether it is served from now on.
 */
export function setServedHere(k: number, on: boolean): void {
  if (on) servedHere.add(k);
  else servedHere.delete(k);
}

/**
 * Whether `k` is a live child whose every operation on a served primitive
 * this thread's event loop answers: a blocking wait here for something
 * only it can do would never end.
 *
 * @param k A process key.
 */
export function isServedHere(k: number): boolean {
  return servedHere.has(k);
}

/** The root program's main module URL. */
export function mainModuleUrl(): string {
  return rootMainModule;
}

/**
 * Whether the process with `k` is alive. A key this table does not know
 * (0) counts as alive, so nothing is stolen on a guess.
 *
 * @param k A key from {@linkcode currentKey}.
 */
export function isAlive(k: number): boolean {
  if (k <= 0 || k >= TABLE_SLOTS) return true;
  return Atomics.load(table, k) !== Liveness.Dead;
}

/**
 * Asks the process with `k` to stop: its library waits end (see
 * {@linkcode Liveness}). A dead process stays dead.
 *
 * @param k The process's key.
 */
export function requestStop(k: number): void {
  if (k > 0 && k < TABLE_SLOTS) {
    Atomics.compareExchange(table, k, Liveness.Alive, Liveness.Stopping);
  }
}

/**
 * Whether this process (itself, not whom it acts for) was asked to stop.
 *
 * @returns `true` once its parent asked it to stop.
 */
export function stopRequested(): boolean {
  return Atomics.load(table, key) === Liveness.Stopping;
}

/**
 * Marks the process with `k` dead (its parent saw it exit).
 *
 * @param k The dead process's key.
 */
export function markDead(k: number): void {
  if (k > 0 && k < TABLE_SLOTS) Atomics.store(table, k, Liveness.Dead);
}
