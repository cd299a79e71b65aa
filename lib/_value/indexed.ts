/**
 * The index proxy of `RawArray` and `Array`: `a[i]` reads element `i` and
 * `a[i] = v` writes it, through the object's own `get` and `set`.
 *
 * @module
 */

/**
 * The index named by a property key, or `undefined` for other keys. It
 * parses by hand: this runs on every property access of an array, and
 * `String(Number(p)) === p` would allocate a string each time.
 */
function toIndex(p: string | symbol): number | undefined {
  if (typeof p !== "string") return undefined;
  const len = p.length;
  let i = 0;
  if (len > 0 && p.charCodeAt(0) === 45) i = 1; // "-"
  if (i >= len || len - i > 15) return undefined;
  const first = p.charCodeAt(i);
  // Only canonical integers: no leading zeros, no "-0".
  if (first < 48 || first > 57 || (first === 48 && (len > i + 1 || i === 1))) {
    return undefined;
  }
  let n = 0;
  for (; i < len; i++) {
    const c = p.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return p.charCodeAt(0) === 45 ? -n : n;
}

/** The real object behind each array proxy, for calls that skip the trap. */
const targets = new WeakMap<object, object>();

/** What an indexed object has. */
interface Indexable {
  get(i: number): unknown;
  set(i: number, v: unknown): void;
  readonly length: number;
}

/**
 * Wraps an array object so that `a[i]` reads and `a[i] = v` writes element
 * `i`. Methods are bound to the real object, because `#private` fields
 * cannot be reached through a proxy as `this`.
 *
 * @param target The array object: it has `get`, `set` and `length`.
 * @returns Its proxy.
 */
export function indexed<A extends object>(target: A): A {
  const bound = new Map<string | symbol, unknown>();
  const proxy = new Proxy(target as A & Indexable, {
    get(t, p) {
      const i = toIndex(p);
      if (i !== undefined) return t.get(i);
      const v = Reflect.get(t, p, t);
      if (typeof v !== "function" || p === "constructor") return v;
      let b = bound.get(p);
      if (b === undefined) {
        b = (v as (...args: unknown[]) => unknown).bind(t);
        bound.set(p, b);
      }
      return b;
    },
    set(t, p, v) {
      const i = toIndex(p);
      if (i === undefined) return Reflect.set(t, p, v, t);
      t.set(i, v);
      return true;
    },
    has(t, p) {
      const i = toIndex(p);
      if (i === undefined) return Reflect.has(t, p);
      return i >= 0 && i < t.length;
    },
  });
  targets.set(proxy, target);
  return proxy;
}

/**
 * The real object behind an array proxy (calling it skips the trap), or
 * `obj` itself when it is not one.
 *
 * @param obj What {@linkcode indexed} gave, or any object.
 * @returns The object it wraps.
 */
export function targetOf<A extends object>(obj: A): A {
  return (targets.get(obj) ?? obj) as A;
}
