/**
 * The manager's containers on the server: dict, list, Namespace, Value
 * and Array, each a small class holding the data and a table of the
 * methods a client may call on it.
 *
 * @module
 */

import { ValueError } from "../errors.ts";
import { type DictKey, Ref } from "./wire.ts";
import { encodeValue } from "./values.ts";
import { setOwn } from "../_common/walk.ts";
import { intArg, show } from "./objects_common.ts";
import type { Handler, ObjectType } from "./objects.ts";

function keyArg(k: unknown, action: string): DictKey {
  if (
    k === null || typeof k === "string" || typeof k === "number" ||
    typeof k === "bigint" || typeof k === "boolean"
  ) return k;
  throw new TypeError(
    `Cannot ${action}: a dict key must be a string, number, bigint, boolean or null, got ${
      k === undefined ? "undefined" : typeof k
    }`,
  );
}

const refAsData = {
  ref: (o: object) => o instanceof Ref ? o.data : undefined,
};

/** Python's `==` for stored values: same primitive, or equal structure. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  if (
    a === null || b === null || typeof a !== "object" || typeof b !== "object"
  ) return false;
  return JSON.stringify(encodeValue(a, refAsData)) ===
    JSON.stringify(encodeValue(b, refAsData));
}

function entriesOf(src: unknown, action: string): Iterable<[unknown, unknown]> {
  if (src instanceof Map) return src;
  if (Array.isArray(src)) {
    for (const e of src) {
      if (!Array.isArray(e) || e.length !== 2) {
        throw new TypeError(
          `Cannot ${action}: an array argument must hold [key, value] pairs`,
        );
      }
    }
    return src as [unknown, unknown][];
  }
  if (src !== null && typeof src === "object") {
    return Object.entries(src as Record<string, unknown>);
  }
  throw new TypeError(
    `Cannot ${action}: pass an object, a Map or an array of [key, value] pairs`,
  );
}

// --- dict and Namespace -------------------------------------------------

/** A dict or a Namespace: a map from checked keys to values. */
interface Keyed {
  readonly map: Map<unknown, unknown>;
}

/** The words a keyed container's error messages use. */
interface KeyedWords {
  /** "a value" (dict), "an attribute" (Namespace). */
  value: string;
  /** "a key" (dict), "an attribute" (Namespace). */
  key: string;
  /** "the dict", "the namespace". */
  container: string;
}

/** The methods a dict and a Namespace share, over their keys' check. */
function keyedMethods(
  check: (k: unknown, action: string) => unknown,
  w: KeyedWords,
): Record<string, Handler> {
  return {
    get(o: Keyed, [k, fallback]) {
      const key = check(k, `get ${w.value}`);
      return o.map.has(key) ? o.map.get(key) : fallback;
    },
    set(o: Keyed, [k, v]) {
      o.map.set(check(k, `set ${w.value}`), v);
    },
    delete(o: Keyed, [k]) {
      return o.map.delete(check(k, `delete ${w.key}`));
    },
    has(o: Keyed, [k]) {
      return o.map.has(check(k, `look ${w.key} up`));
    },
    keys: (o: Keyed) => [...o.map.keys()],
    update(o: Keyed, [src]) {
      const pairs = [...entriesOf(src, `update ${w.container}`)];
      for (const [k] of pairs) check(k, `update ${w.container}`);
      for (const [k, v] of pairs) o.map.set(k, v);
    },
    toObject(o: Keyed) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of o.map) setOwn(out, String(k), v);
      return out;
    },
  };
}

/** A managed dict: a `Map` with primitive keys. */
export class DictObj {
  readonly map: Map<DictKey, unknown> = new Map();
}

const dictMethods: Record<string, Handler> = {
  ...keyedMethods(keyArg, {
    value: "a value",
    key: "a key",
    container: "the dict",
  }),
  values: (o: DictObj) => [...o.map.values()],
  entries: (o: DictObj) => [...o.map.entries()],
  size: (o: DictObj) => o.map.size,
  clear(o: DictObj) {
    o.map.clear();
  },
  setdefault(o: DictObj, [k, d]) {
    const key = keyArg(k, "set a default");
    if (!o.map.has(key)) o.map.set(key, d);
    return o.map.get(key);
  },
  pop(o: DictObj, args) {
    const key = keyArg(args[0], "pop a key");
    if (o.map.has(key)) {
      const v = o.map.get(key);
      o.map.delete(key);
      return v;
    }
    if (args.length >= 2) return args[1];
    throw new RangeError(
      `Cannot pop '${show(key)}': the key is not in the dict`,
    );
  },
  popitem(o: DictObj) {
    let last: [DictKey, unknown] | undefined;
    for (const e of o.map) last = e;
    if (last === undefined) {
      throw new RangeError("Cannot pop an item: the dict is empty");
    }
    o.map.delete(last[0]);
    return last;
  },
  toMap: (o: DictObj) => new Map(o.map),
};

// --- list ---------------------------------------------------------------

/** A managed list. */
export class ListObj {
  items: unknown[] = [];
}

function indexArg(i: unknown, len: number, action: string): number {
  const n = intArg(i, "the index", action);
  const j = n < 0 ? n + len : n;
  if (j < 0 || j >= len) {
    throw new RangeError(
      `Cannot ${action} at index ${n}: the list has ${len} items`,
    );
  }
  return j;
}

function clampIndex(i: unknown, len: number, action: string): number {
  if (i === undefined || i === null) return len;
  const n = intArg(i, "the index", action);
  return n < 0 ? Math.max(0, n + len) : Math.min(n, len);
}

function compare(a: unknown, b: unknown): number {
  const ta = typeof a;
  const tb = typeof b;
  const num = (t: string) => t === "number" || t === "bigint";
  if ((num(ta) && num(tb)) || (ta === "string" && tb === "string")) {
    return (a as number) < (b as number)
      ? -1
      : (a as number) > (b as number)
      ? 1
      : 0;
  }
  throw new TypeError(
    `Cannot sort the list: cannot compare a ${ta} with a ${tb}`,
  );
}

const listMethods: Record<string, Handler> = {
  get(o: ListObj, [i]) {
    return o.items[indexArg(i, o.items.length, "get an item")];
  },
  set(o: ListObj, [i, v]) {
    o.items[indexArg(i, o.items.length, "set an item")] = v;
  },
  delete(o: ListObj, [i]) {
    o.items.splice(indexArg(i, o.items.length, "delete an item"), 1);
  },
  append(o: ListObj, [x]) {
    o.items.push(x);
  },
  extend(o: ListObj, [xs]) {
    if (!Array.isArray(xs) && !(xs instanceof Set)) {
      throw new TypeError("Cannot extend the list: pass an array or a Set");
    }
    for (const x of xs) o.items.push(x);
  },
  insert(o: ListObj, [i, x]) {
    o.items.splice(clampIndex(i, o.items.length, "insert"), 0, x);
  },
  pop(o: ListObj, [i]) {
    if (o.items.length === 0) {
      throw new RangeError("Cannot pop an item: the list is empty");
    }
    const j = i === undefined ? o.items.length - 1 : indexArg(
      i,
      o.items.length,
      "pop an item",
    );
    return o.items.splice(j, 1)[0];
  },
  remove(o: ListObj, [x]) {
    const j = o.items.findIndex((y) => equal(x, y));
    if (j < 0) {
      throw new ValueError(
        `Cannot remove '${show(x)}': the list does not hold it`,
      );
    }
    o.items.splice(j, 1);
  },
  index(o: ListObj, [x, start, stop]) {
    const len = o.items.length;
    const a = start === undefined ? 0 : clampIndex(start, len, "find an item");
    const b = stop === undefined ? len : clampIndex(stop, len, "find an item");
    for (let j = a; j < b; j++) if (equal(x, o.items[j])) return j;
    throw new ValueError(`Cannot find '${show(x)}': the list does not hold it`);
  },
  count(o: ListObj, [x]) {
    let n = 0;
    for (const y of o.items) if (equal(x, y)) n++;
    return n;
  },
  includes(o: ListObj, [x]) {
    return o.items.some((y) => equal(x, y));
  },
  slice(o: ListObj, [start, end]) {
    const s = start === undefined ? undefined : intArg(start, "start", "slice");
    const e = end === undefined ? undefined : intArg(end, "end", "slice");
    return o.items.slice(s, e);
  },
  length: (o: ListObj) => o.items.length,
  clear(o: ListObj) {
    o.items = [];
  },
  reverse(o: ListObj) {
    o.items.reverse();
  },
  sort(o: ListObj, [opts]) {
    const reverse = (opts as { reverse?: unknown } | undefined)?.reverse ===
      true;
    const sorted = [...o.items].sort(compare);
    o.items = reverse ? sorted.reverse() : sorted;
  },
  toArray: (o: ListObj) => [...o.items],
};

// --- Namespace ----------------------------------------------------------

/** A managed namespace: named attributes. */
export class NamespaceObj {
  readonly map: Map<string, unknown> = new Map();
}

function nameArg(n: unknown, action: string): string {
  if (typeof n !== "string") {
    throw new TypeError(`Cannot ${action}: the name must be a string`);
  }
  return n;
}

const namespaceMethods: Record<string, Handler> = keyedMethods(nameArg, {
  value: "an attribute",
  key: "an attribute",
  container: "the namespace",
});

// --- Value and Array ----------------------------------------------------

const TYPECODES = new Set("bBhHiIlLqQfdcu".split(""));

function typecodeArg(t: unknown, action: string): string {
  if (typeof t !== "string" || !TYPECODES.has(t)) {
    throw new TypeError(
      `Cannot ${action}: unknown typecode '${
        String(t)
      }'; use one of b B h H i I l L q Q f d c u`,
    );
  }
  return t;
}

/** A managed value. */
export class ValueObj {
  /** @param typecode Its type code. @param value Its value. */
  constructor(readonly typecode: string, public value: unknown) {}
}

const valueMethods: Record<string, Handler> = {
  get: (o: ValueObj) => o.value,
  set(o: ValueObj, [v]) {
    o.value = v;
  },
  typecode: (o: ValueObj) => o.typecode,
};

/** A managed fixed-length array. */
export class ArrayObj {
  /** @param typecode Its type code. @param items Its items. */
  constructor(readonly typecode: string, readonly items: unknown[]) {}
}

// An Array is a list that keeps its length: the list's methods that do.
const arrayMethods: Record<string, Handler> = {
  get: listMethods.get,
  set: listMethods.set,
  length: listMethods.length,
  slice: listMethods.slice,
  toArray: listMethods.toArray,
  typecode: (o: ArrayObj) => o.typecode,
};

function makeArray(args: unknown[]): ArrayObj {
  const t = typecodeArg(args[0], "make an Array");
  const init = args[1];
  if (typeof init === "number") {
    if (!Number.isInteger(init) || init < 0) {
      throw new RangeError(
        "Cannot make an Array: the size must be an integer >= 0",
      );
    }
    const zero = t === "q" || t === "Q" ? 0n : t === "c" || t === "u" ? "" : 0;
    return new ArrayObj(t, new Array(init).fill(zero));
  }
  if (!Array.isArray(init)) {
    throw new TypeError(
      "Cannot make an Array: pass a size or an array of initial items",
    );
  }
  return new ArrayObj(t, [...init]);
}

/** Makes an empty container, then fills it by `fill` with `args[0]`. */
function filledBy(
  make: () => object,
  fill: Handler,
): ObjectType["create"] {
  return (args, ctx) => {
    const o = make();
    if (args[0] !== undefined) fill(o, [args[0]], ctx);
    return o;
  };
}

/** The containers: how each is made and what may be called on it. */
export const CONTAINER_TYPES: Readonly<
  Record<"dict" | "list" | "Namespace" | "Value" | "Array", ObjectType>
> = {
  dict: {
    create: filledBy(() => new DictObj(), dictMethods.update),
    methods: dictMethods,
  },
  list: {
    create: filledBy(() => new ListObj(), listMethods.extend),
    methods: listMethods,
  },
  Namespace: {
    create: filledBy(() => new NamespaceObj(), namespaceMethods.update),
    methods: namespaceMethods,
  },
  Value: {
    create: (args) =>
      new ValueObj(typecodeArg(args[0], "make a Value"), args[1]),
    methods: valueMethods,
  },
  Array: { create: makeArray, methods: arrayMethods },
};
