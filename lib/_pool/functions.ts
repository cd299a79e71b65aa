/**
 * The functions a pool has shipped, each under a numeric key its workers
 * cache the loaded function by. Two functions with the same reference
 * (name, source, modules) load the same way in a worker, so they share a
 * key: an inline arrow written in a loop (a fresh object per call) is
 * shipped once, not once per call.
 *
 * Looked up by identity first (a `WeakMap`, so it keeps no function
 * alive), then by reference in a map of at most
 * {@linkcode FUNCTION_CACHE_SIZE} entries, least recently used out first.
 *
 * @module
 */

import type { FunctionRef } from "../_launch/protocol.ts";
import { toFunctionRef } from "../_launch/shipping.ts";

/** How many distinct function references a pool remembers. */
export const FUNCTION_CACHE_SIZE = 1024;

/** A function as a pool ships it. */
interface ShippedFunction {
  /** Same reference, same key; a new key is never an old one. */
  key: number;
  /** How a worker finds the function. */
  ref: FunctionRef;
  /** Its name, for messages. */
  label: string;
}

/** The function cache of one pool. */
export class FunctionCache {
  #module: string | URL | undefined;
  #byIdentity = new WeakMap<object, ShippedFunction>();
  #byRef = new Map<string, ShippedFunction>();
  #nextKey = 1;

  /**
   * Makes an empty cache.
   *
   * @param module The pool's `module` option (looked in first).
   */
  constructor(module: string | URL | undefined) {
    this.#module = module;
  }

  /** Distinct references remembered (at most {@linkcode FUNCTION_CACHE_SIZE}). */
  get size(): number {
    return this.#byRef.size;
  }

  /**
   * The shipped form of a task function.
   *
   * @param func A function or `{ module, name }`.
   * @returns Its key, reference and label.
   * @throws {TypeError} When `func` cannot be shipped.
   */
  get(func: unknown): ShippedFunction {
    if (typeof func === "function") {
      let hit = this.#byIdentity.get(func);
      if (hit === undefined) {
        const ref = toFunctionRef(func, this.#module, "task function");
        hit = this.#entry(
          `f\u0000${ref.name}\u0000${
            ref.modules.join("\u0000")
          }\u0000${ref.source}`,
          () => ref,
        );
        this.#byIdentity.set(func, hit);
      }
      return hit;
    }
    const make = () => toFunctionRef(func, this.#module, "task function");
    // Neither a function nor an object: this throws the error that says so.
    if (func === null || typeof func !== "object") make();
    // `{ module, name }`, often a fresh literal per call: its fields name it.
    const { module, name } = func as { module?: unknown; name?: unknown };
    return this.#entry(`o\u0000${String(module)}\u0000${String(name)}`, make);
  }

  /** The entry under `id`, made from `make()`'s reference when missing. */
  #entry(id: string, make: () => FunctionRef): ShippedFunction {
    let hit = this.#byRef.get(id);
    if (hit === undefined) {
      const ref = make();
      hit = { key: this.#nextKey++, ref, label: ref.name || "anonymous" };
      if (this.#byRef.size >= FUNCTION_CACHE_SIZE) {
        this.#byRef.delete(this.#byRef.keys().next().value!);
      }
    } else {
      // Most recently used goes last (a Map keeps insertion order).
      this.#byRef.delete(id);
    }
    this.#byRef.set(id, hit);
    return hit;
  }
}
