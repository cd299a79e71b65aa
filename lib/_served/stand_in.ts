/**
 * The stand-in a child receives for a primitive its parent serves: an
 * object of the primitive's own class (so `instanceof` holds) whose
 * members, as `spec.ts` lists them, ask the parent to act. How a call
 * travels is not known here: `proxy.ts` passes the two ways in.
 *
 * May import: `_launch/shareables.ts` (the registry's classes, for their
 * prototypes), `./spec.ts`, `_common/transfer.ts`.
 *
 * @module
 */

import { shareables } from "../_launch/shareables.ts";
import {
  type MemberKind,
  SERVED,
  SERVED_TAG,
  type ServedData,
  type ServedOp,
} from "./spec.ts";
import { kShare } from "../_common/transfer.ts";

// deno-lint-ignore no-explicit-any
export type Ctor = abstract new (...args: any[]) => unknown;

/** The registry's classes by name (made on first use). */
let classes: Map<string, Ctor> | undefined;

/** The class of a stand-in: the registered class of the real primitive. */
function classNamed(name: string): Ctor | undefined {
  classes ??= new Map(
    shareables().flatMap((e) => [e.cls, ...(e.subclasses ?? [])])
      .filter((c) => c !== undefined)
      .map((c) => [c.name, c as Ctor]),
  );
  return classes.get(name);
}

/** What the child is told of a served primitive. */
export type StandInData = ServedData & { cls: string };

/** Sends one call of a stand-in to the parent. */
export type ServedCall<R> = (op: ServedOp, m: string, a: unknown[]) => R;

/** The two ways a stand-in's calls travel. */
export interface ServedCalls {
  /** Over the process channel; settles with the parent's reply. */
  async: ServedCall<Promise<unknown>>;
  /** Through the helper thread, blocking this thread until the reply. */
  sync: ServedCall<unknown>;
}

/**
 * Builds the stand-in for a served primitive.
 *
 * @param data What the parent sent of it.
 * @param call How its calls reach the parent.
 * @param sid Its served id, sent back when it is passed on.
 * @returns The stand-in (a `Proxy` for an indexed one).
 * @throws {TypeError} The parent serves a class this version does not know.
 */
export function standIn(
  data: StandInData,
  call: ServedCalls,
  sid: string,
): object {
  const spec = SERVED[data.tag];
  if (spec === undefined) {
    throw new TypeError(
      `Cannot receive a served '${data.tag}': this version of @seed/multiprocessing does not know it; use the same version in parent and child`,
    );
  }
  const obj = Object.create(
    (classNamed(data.cls) ?? Object).prototype,
  ) as Record<string | symbol, unknown>;
  const define = (name: string | symbol, value: unknown) =>
    Object.defineProperty(obj, name, { value, configurable: true });
  for (const [name, kind] of Object.entries(spec.members)) {
    Object.defineProperty(obj, name, {
      ...member(kind, name, obj, call),
      configurable: true,
    });
  }
  if (spec.dispose !== undefined) {
    const m = spec.dispose;
    define(Symbol.dispose, () => (obj[m] as () => void)());
  }
  define(kShare, () => ({ tag: SERVED_TAG, id: sid, data }));
  define(
    Symbol.for("Deno.customInspect"),
    () => `${data.cls} (served by the parent process)`,
  );
  if (!spec.indexed) return obj;
  define(Symbol.iterator, function* () {
    yield* (obj.toArray as () => unknown[])();
  });
  return new Proxy(obj, {
    get(target, p, receiver) {
      if (isIndex(p)) return call.sync("call", "get", [Number(p)]);
      return Reflect.get(target, p, receiver);
    },
    set(target, p, v, receiver) {
      if (isIndex(p)) {
        call.sync("call", "set", [Number(p), v]);
        return true;
      }
      return Reflect.set(target, p, v, receiver);
    },
  });
}

/** The property a stand-in has for member `name` of kind `kind`. */
function member(
  kind: MemberKind,
  name: string,
  obj: object,
  call: ServedCalls,
): PropertyDescriptor {
  const target = obj as Waiter & { release(): void };
  switch (kind) {
    case "async":
      return { value: (...a: unknown[]) => call.async("call", name, a) };
    case "sync":
      return { value: (...a: unknown[]) => call.sync("call", name, a) };
    case "blocking": {
      // Runs the async twin (the name without `Sync`) in the parent.
      const twin = name.slice(0, -"Sync".length);
      return { value: (...a: unknown[]) => call.sync("call", twin, a) };
    }
    case "get":
    case "getset":
      return {
        get: () => call.sync("get", name, []),
        set: kind === "getset"
          ? (v: unknown) => void call.sync("set", name, [v])
          : undefined,
      };
    case "lock":
      return {
        value: async (o?: unknown) =>
          guard(target, (await call.async("lock", "lock", [o])) as boolean),
      };
    case "lockSync":
      return {
        value: (o?: unknown) =>
          guard(target, call.sync("lock", "lock", [o]) as boolean),
      };
    case "waitFor":
      return {
        value: async (p: () => unknown, t?: number | null) => {
          const steps = waitForSteps(p, t);
          let step = steps.next();
          while (!step.done) {
            await target.wait(step.value);
            step = steps.next();
          }
          return step.value;
        },
      };
    case "waitForSync":
      return {
        value: (p: () => unknown, t?: number | null) => {
          const steps = waitForSteps(p, t);
          let step = steps.next();
          for (; !step.done; step = steps.next()) target.waitSync(step.value);
          return step.value;
        },
      };
  }
}

/** The guard a stand-in's `lock()` returns. */
function guard(target: { release(): void }, ownerDied: boolean) {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    target.release();
  };
  return { ownerDied, release, [Symbol.dispose]: release };
}

type Waiter = {
  wait(timeout?: number | null): unknown;
  waitSync(timeout?: number | null): boolean;
};

/**
 * Condition's `waitFor` loop, run in the child (the predicate cannot
 * cross): yields the timeout of each wait, returns the predicate's last
 * value. One loop for both `waitFor` and `waitForSync`.
 */
function* waitForSteps<T>(
  predicate: () => T,
  timeout?: number | null,
): Generator<number | null, T> {
  const end = timeout == null ? Infinity : performance.now() + timeout * 1000;
  let result = predicate();
  while (!result) {
    const left = end - performance.now();
    if (left <= 0) break;
    yield end === Infinity ? null : left / 1000;
    result = predicate();
  }
  return result;
}

function isIndex(p: string | symbol): p is string {
  return typeof p === "string" && /^(0|[1-9]\d*)$/.test(p);
}
