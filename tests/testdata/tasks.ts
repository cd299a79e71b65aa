// Functions the Process and Pool tests run inside workers.
import { threadId } from "node:worker_threads";
import {
  currentProcess,
  Event,
  getStartMethod,
  parentProcess,
  Process,
  type StartMethod,
} from "../../mod.ts";

/** A module-level global, to show each process has its own copy. */
export let counter = 0;

export function square(n: number): number {
  return n * n;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function withKwargs(a: number, kw: { times: number }): number {
  return a * kw.times;
}

export async function sleepThen(ms: number, value: unknown): Promise<unknown> {
  await new Promise((r) => setTimeout(r, ms));
  return value;
}

export function fail(message: string): never {
  const err = new RangeError(message);
  (err as Error & { cause: unknown }).cause = { code: 42 };
  throw err;
}

export function throwValue(value: unknown): never {
  throw value;
}

export function throwFunction(): never {
  throw function thrown() {};
}

export async function rejectValue(value: unknown): Promise<never> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  throw value;
}

export function failOn(n: number): number {
  if (n === 3) throw new TypeError(`bad item ${n}`);
  return n;
}

export function spin(): never {
  while (true) {
    // Busy forever: only terminating the thread stops it.
  }
}

/**
 * Blocked forever in a library wait (an Event nobody sets): a worker
 * thread asked to stop leaves such a wait (it throws), so it stops.
 */
export function waitForever(): void {
  new Event().waitSync();
}

export function exitWith(code: number): void {
  Deno.exit(code);
}

export function exitOn(n: number, code: number): number {
  if (n === code) Deno.exit(code);
  return n;
}

export function hog(): number {
  const keep: unknown[] = [];
  while (true) keep.push(new Array(1_000_000).fill(Math.random()));
}

/** Which worker runs this: thread id and pid (children are processes). */
export function ident(): string {
  return `${Deno.pid}:${threadId}`;
}

/**
 * Spins for `ms` and says when it ran (ms since the epoch): two windows
 * that overlap ran in parallel.
 */
export function busyWindow(ms: number): [number, number] {
  const start = performance.timeOrigin + performance.now();
  while (performance.timeOrigin + performance.now() - start < ms) {
    // Busy: hold the CPU.
  }
  return [start, performance.timeOrigin + performance.now()];
}

export function writeFile(path: string, text: string): void {
  Deno.writeTextFileSync(path, text);
}

export function describeSelf(path: string): void {
  const me = currentProcess();
  const parent = parentProcess();
  Deno.writeTextFileSync(
    path,
    JSON.stringify({
      name: me.name,
      daemon: me.daemon,
      ident: me.ident,
      parent: parent?.name ?? null,
      parentAlive: parent?.isAlive() ?? null,
    }),
  );
}

export function startMethodHere(): string {
  return getStartMethod();
}

export function writeStartMethod(path: string): void {
  Deno.writeTextFileSync(path, getStartMethod());
}

export function appendLine(path: string, line: string): void {
  Deno.writeTextFileSync(path, `${line}\n`, { append: true });
}

export function bumpCounter(path: string): void {
  counter += 100;
  Deno.writeTextFileSync(path, String(counter));
}

export function getCounter(): number {
  return counter;
}

let initialized: unknown = null;

export function init(value: unknown): void {
  initialized = value;
}

export function readInit(): unknown {
  return initialized;
}

/**
 * Waits (with a timeout) until `parties` tasks are inside at once: true
 * only when the pool really runs them in parallel.
 */
export function rendezvous(sab: SharedArrayBuffer, parties: number): boolean {
  const i32 = new Int32Array(sab);
  Atomics.add(i32, 0, 1);
  const end = Date.now() + 10_000;
  while (Atomics.load(i32, 0) < parties) {
    if (Date.now() > end) return false;
    Atomics.wait(i32, 1, 0, 5);
  }
  return true;
}

export function byteLength(buf: ArrayBuffer): number {
  return buf.byteLength;
}

export function returnsFunction(): unknown {
  return () => 1;
}

export function startChild(): void {
  const p = new Process({ target: square, args: [2] });
  p.start();
}

export class Greeter extends Process {
  greeting: string;
  path: string;
  constructor(greeting: string, path: string, startMethod?: StartMethod) {
    // The class lives in this module, not in the main module: say where.
    super({ name: "greeter", module: import.meta.url, startMethod });
    this.greeting = greeting;
    this.path = path;
  }
  override run(): void {
    Deno.writeTextFileSync(this.path, `${this.greeting} from ${this.name}`);
  }
}

export function identity(x: unknown): unknown {
  return x;
}

export function throwIf(x: unknown): unknown {
  if (x === "throw") throw new SyntaxError("asked to throw");
  return x;
}

/** Blocks on `q.getSync()` (a queue its parent serves it) until it ends. */
export function blockOnQueue(q: { getSync(): unknown }): void {
  q.getSync();
}

/** A number, except every seventh item from 5 on, which comes back as text. */
export function numberOrText(x: number): number | string {
  return x % 7 === 5 ? `#${x}` : x;
}

/** Throws on 37, to fail a chunk in its middle. */
export function failOn37(n: number): number {
  if (n === 37) throw new RangeError(`bad item ${n}`);
  return n;
}

/** Its arguments, as it got them: how many, and which. */
export function argsOf(...args: unknown[]): unknown[] {
  return [args.length, ...args];
}

/** Throws for odd numbers, returns even ones doubled. */
export function failOdd(n: number): number {
  if (n % 2 === 1) throw new RangeError(`odd ${n}`);
  return n * 2;
}

/** Spins for `ms`, then says which worker ran it (see {@linkcode ident}). */
export function identAfter(ms: number): string {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy: hold the worker.
  }
  return ident();
}

/** Where {@linkcode mark} counts runs; set by {@linkcode useMarks}. */
let marks: Int32Array | null = null;

/** A pool initializer: {@linkcode mark} counts in `sab`. */
export function useMarks(sab: SharedArrayBuffer): void {
  marks = new Int32Array(sab);
}

/** Counts a run of task `i` (see {@linkcode useMarks}); returns `i * 2`. */
export function mark(i: number): number {
  Atomics.add(marks!, i, 1);
  return i * 2;
}
