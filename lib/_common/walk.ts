/**
 * Walking what crosses to another process, the one walk behind
 * `encodeShared`, `decodeShared` and the refusal of primitives in queue
 * items (`transfer.ts`): arrays, objects, and the entries of Maps and
 * Sets, to any depth, cycles included, rewriting some objects in a copy
 * that keeps shared and cyclic references, holes and odd keys as
 * structured clone does.
 *
 * @module
 */

/** Whether `value` is a plain object (its prototype `Object.prototype` or `null`). */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Whether structured clone copies `value` as a plain object: a plain
 * object, or an instance of a class of the program's own, whose own
 * enumerable properties it copies into a plain object (dropping the
 * prototype). Not the built-ins it copies in their own way (arrays, Maps,
 * Sets, Dates, RegExps, typed arrays, errors, boxed primitives …), whose
 * tag is not `Object`.
 */
function clonesAsObject(value: object): boolean {
  return isPlainObject(value) ||
    Object.prototype.toString.call(value) === "[object Object]";
}

/** What a {@linkcode rewrite} visitor returns to leave an object as it is. */
export const KEEP: unique symbol = Symbol("keep");

/**
 * Deeper than this, a walk starts again in its cycle-safe form: values
 * that cross are nearly always shallow trees, walked without allocating,
 * but structured clone allows cycles, which the plain recursion would
 * follow until the stack overflows.
 */
const TREE_DEPTH = 64;

/** Thrown inside a tree walk that went too deep; never escapes. */
const TOO_DEEP: unique symbol = Symbol("too deep");

/** One {@linkcode rewrite}: its visitor and what the walk found. */
interface Walk<C> {
  visit: (obj: object, ctx: C) => unknown;
  ctx: C;
  /** What `visit` replaces, by original (made on the first). */
  replaced: Map<object, unknown> | null;
  /** Tree form: the arrays and objects on the way to a replacement. */
  onPath: Set<object> | null;
  /** Cycle-safe form: what was walked (`null` in the tree form). */
  walked: Set<object> | null;
}

/**
 * Walks arrays, objects (plain ones and class instances, see
 * {@linkcode clonesAsObject}), Maps and Sets (to any depth, cycles
 * included), asking
 * `visit` about each object first, once (with `ctx`): what it returns
 * replaces the object, and {@linkcode KEEP} walks on into it. Returns
 * `value` itself when nothing was replaced, so the common case copies
 * nothing; otherwise a copy in which shared and cyclic references stay
 * shared and cyclic, and holes stay holes. A class instance on the way to
 * a replacement is copied as a plain object: what structured clone makes
 * of it anyway.
 */
export function rewrite<C>(
  value: unknown,
  visit: (obj: object, ctx: C) => unknown,
  ctx: C,
): unknown {
  if (value === null || typeof value !== "object") return value;
  const w: Walk<C> = {
    visit,
    ctx,
    replaced: null,
    onPath: null,
    walked: null,
  };
  try {
    findReplacements(value, w, 0);
  } catch (e) {
    if (e !== TOO_DEEP) throw e;
    // Deep or cyclic: walk again, remembering what was walked, and copy
    // every array and object (a cycle may lead anywhere). `replaced`
    // keeps what `visit` said, so no object is visited twice.
    w.walked = new Set();
    w.onPath = null;
    findReplacements(value, w, 0);
  }
  if (w.replaced === null) return value;
  return copyReplacing(value, w, new Map());
}

/**
 * Asks `visit` about `value` and, unless it is replaced, about every
 * object in it (in arrays, plain objects, Maps and Sets). Tree form (`walked` null):
 * no allocation unless something is replaced; throws
 * {@linkcode TOO_DEEP} past {@linkcode TREE_DEPTH}.
 *
 * @returns Whether something in `value` (or itself) is replaced.
 */
function findReplacements<C>(
  value: object,
  w: Walk<C>,
  depth: number,
): boolean {
  const walked = w.walked;
  if (walked === null) {
    if (depth > TREE_DEPTH) throw TOO_DEEP;
  } else {
    if (walked.has(value)) return false;
    walked.add(value);
  }
  let r: unknown;
  if (w.replaced?.has(value)) r = w.replaced.get(value);
  else r = w.visit(value, w.ctx);
  if (r !== KEEP) {
    (w.replaced ??= new Map()).set(value, r);
    return true;
  }
  let found = false;
  if (Array.isArray(value) || clonesAsObject(value)) {
    const rec = value as Record<string, unknown>;
    const keys = Object.keys(rec);
    for (let i = 0; i < keys.length; i++) {
      if (findIn(rec[keys[i]], w, depth)) found = true;
    }
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      if (findIn(k, w, depth)) found = true;
      if (findIn(v, w, depth)) found = true;
    }
  } else if (value instanceof Set) {
    for (const v of value) if (findIn(v, w, depth)) found = true;
  } else {
    return false;
  }
  if (found && walked === null) (w.onPath ??= new Set()).add(value);
  return found;
}

/** {@linkcode findReplacements} for a child of an object at `depth`. */
function findIn<C>(v: unknown, w: Walk<C>, depth: number): boolean {
  return v !== null && typeof v === "object" &&
    findReplacements(v, w, depth + 1);
}

/**
 * Copies the arrays and plain objects of `value` that lead to a
 * replacement (all of them in the cycle-safe form), swapping replaced
 * objects for their replacements. `copies` maps each original to its
 * copy, so shared and cyclic references stay so.
 */
function copyReplacing<C>(
  value: unknown,
  w: Walk<C>,
  copies: Map<object, unknown>,
): unknown {
  if (value === null || typeof value !== "object") return value;
  if (w.replaced!.has(value)) return w.replaced!.get(value);
  if (w.walked === null && !w.onPath?.has(value)) return value;
  if (copies.has(value)) return copies.get(value);
  if (value instanceof Map) {
    const map = new Map();
    copies.set(value, map);
    for (const [k, v] of value) {
      map.set(copyReplacing(k, w, copies), copyReplacing(v, w, copies));
    }
    return map;
  }
  if (value instanceof Set) {
    const set = new Set();
    copies.set(value, set);
    for (const v of value) set.add(copyReplacing(v, w, copies));
    return set;
  }
  let out: Record<string, unknown>;
  if (Array.isArray(value)) {
    out = new Array(value.length) as unknown as Record<string, unknown>;
  } else if (clonesAsObject(value)) {
    out = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
  } else {
    return value;
  }
  copies.set(value, out);
  const rec = value as Record<string, unknown>;
  // Object.keys skips holes, so they stay holes.
  for (const k of Object.keys(rec)) {
    setOwn(out, k, copyReplacing(rec[k], w, copies));
  }
  return out;
}

/**
 * Sets an own property, also one named `__proto__` (plain assignment
 * would set the prototype instead), as structured clone does.
 *
 * @param o The object.
 * @param k The key.
 * @param v The value.
 */
export function setOwn(
  o: Record<string, unknown>,
  k: string,
  v: unknown,
): void {
  if (k === "__proto__") {
    Object.defineProperty(o, k, {
      value: v,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    o[k] = v;
  }
}
