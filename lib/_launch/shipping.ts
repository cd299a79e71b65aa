/**
 * Shipping functions to another process (SPEC "Shipping functions").
 *
 * The parent sends a {@linkcode FunctionRef}: the function's name, its
 * source, and the modules it may be exported from (the `module` option,
 * then the root program's main module). The child imports those modules
 * (as Python's spawn re-imports `__main__`; `import.meta.main` is false
 * there because the module is not the child's entry) and takes the export
 * of that name whose source matches: the real function, with its imports
 * and module state. When no module exports it, the child rebuilds the
 * function from its source, which works for self-contained functions; one
 * that used an outer variable fails there with an error that says to
 * export it.
 *
 * @module
 */

import type { FunctionRef } from "./protocol.ts";
import { mainModuleUrl } from "../_common/runtime.ts";
import { BootstrapError, whileBootstrapping } from "../_common/self.ts";

/**
 * Normalizes a `module` option to an absolute URL string.
 *
 * @param module A URL, a URL string, or a file path (relative to the cwd).
 * @returns The module's URL.
 */
export function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== "string" || module === "") {
    throw new TypeError(
      `Cannot use module ${
        String(module)
      }: 'module' must be a URL or a path; pass import.meta.url or new URL("./tasks.ts", import.meta.url)`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) {
    return new URL(module).href;
  }
  const base = new URL(`file://${Deno.cwd()}/`);
  return new URL(module, base).href;
}

/**
 * Describes `target` for another process.
 *
 * @param target A function or `{ module, name }`.
 * @param module The `module` option, looked in before the main module.
 * @param what What the target is for, for error messages.
 * @returns The reference to send.
 * @throws {TypeError} When `target` cannot be shipped.
 */
export function toFunctionRef(
  target: unknown,
  module: string | URL | undefined,
  what: string,
): FunctionRef {
  const modules: string[] = [];
  if (module !== undefined) modules.push(moduleUrl(module));
  if (typeof target === "function") {
    const source = Function.prototype.toString.call(target);
    const name = target.name ?? "";
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
      throw new TypeError(
        `Cannot ship ${what} '${
          name || "anonymous"
        }': it is a built-in or bound function; wrap it in a function exported from your module`,
      );
    }
    const main = mainModuleUrl();
    if (main !== undefined && !modules.includes(main)) modules.push(main);
    return { name, source, modules, byName: false };
  }
  if (
    target !== null && typeof target === "object" &&
    typeof (target as { name?: unknown }).name === "string" &&
    (target as { module?: unknown }).module !== undefined
  ) {
    const t = target as { module: string | URL; name: string };
    return {
      name: t.name,
      source: "",
      modules: [moduleUrl(t.module)],
      byName: true,
    };
  }
  throw new TypeError(
    `Cannot ship ${what}: expected a function or { module, name }, got ${
      target === null ? "null" : typeof target
    }`,
  );
}

const loaded = new Map<string, unknown>();

/**
 * Gets the function a {@linkcode FunctionRef} names, in this process.
 * Cached by reference, so a pool worker resolves each function once.
 *
 * @param ref The reference the parent sent.
 * @returns The function (or class).
 */
export async function loadFunction(
  ref: FunctionRef,
): Promise<(...args: unknown[]) => unknown> {
  const key = `${ref.name}\u0000${
    ref.modules.join("\u0000")
  }\u0000${ref.source}`;
  const hit = loaded.get(key);
  if (hit !== undefined) return hit as (...args: unknown[]) => unknown;
  const fn = await resolve(ref);
  loaded.set(key, fn);
  return fn;
}

async function resolve(
  ref: FunctionRef,
): Promise<(...args: unknown[]) => unknown> {
  const label = ref.name || "anonymous";
  // Why a module could not be looked in (such as no read access to it,
  // in a worker thread), for the error when the rebuilt function fails.
  const failed: string[] = [];
  for (const url of ref.modules) {
    let mod: Record<string, unknown>;
    try {
      mod = await whileBootstrapping(url, () => import(url));
    } catch (err) {
      // Code that would start processes for ever fails the child.
      if (err instanceof BootstrapError) throw err;
      failed.push(
        `importing ${url} failed: ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
      if (ref.byName) {
        throw new TypeError(
          `Cannot load '${label}' from ${url}: importing the module failed: ${
            err instanceof Error ? err.message : String(err)
          }`,
          { cause: err },
        );
      }
      continue;
    }
    if (ref.name !== "" && Object.hasOwn(mod, ref.name)) {
      const candidate = mod[ref.name];
      if (
        typeof candidate === "function" &&
        (ref.byName ||
          Function.prototype.toString.call(candidate) === ref.source)
      ) {
        return candidate as (...args: unknown[]) => unknown;
      }
    }
    if (ref.byName) {
      throw new TypeError(
        `Cannot load '${label}' from ${url}: the module has no exported function of that name; export it`,
      );
    }
  }
  return fromSource(ref, failed);
}

function fromSource(
  ref: FunctionRef,
  failed: string[],
): (...args: unknown[]) => unknown {
  const label = ref.name || "anonymous";
  const src = ref.source;
  const attempts = [`return (${src});`];
  // A method written in shorthand (`square(n) { … }`) is not an
  // expression on its own; wrap it in an object literal to rebuild it.
  if (ref.name !== "") {
    attempts.push(`return ({ ${src} })[${JSON.stringify(ref.name)}];`);
  }
  for (const body of attempts) {
    try {
      const fn = new Function(body)();
      if (typeof fn === "function") {
        shipped.set(fn, { label, failed });
        return fn;
      }
    } catch {
      // Try the next form.
    }
  }
  throw new TypeError(
    `Cannot ship function '${label}': its source could not be rebuilt in the child; export it from your main module or pass { module, name }`,
  );
}

/** Functions rebuilt from source, with the name they had in the parent. */
const shipped = new WeakMap<object, { label: string; failed: string[] }>();

/**
 * Rewrites a `ReferenceError` from a function rebuilt from its source into
 * an error that says why and how to fix it.
 *
 * @param err What the function threw.
 * @param fn The function that threw.
 * @returns The error to report.
 */
export function explainShippingError(err: unknown, fn: unknown): unknown {
  const info = typeof fn === "function" ? shipped.get(fn) : undefined;
  if (err instanceof ReferenceError && info !== undefined) {
    const { label, failed } = info;
    // A module that could not be imported (a worker thread without read
    // access to it, say) is the usual reason: say so.
    const why = failed.length === 0 ? "" : ` (${failed.join("; ")})`;
    const e = new ReferenceError(
      `Function '${label}' failed in the child: ${err.message}. It was shipped by its source because no module it was looked up in exports it${why}, so it cannot see outer variables or imports; export '${label}' from your main module (or the 'module' option) or pass { module, name }`,
      { cause: err },
    );
    e.stack = `${e.name}: ${e.message}\n${
      (err.stack ?? "").split("\n").slice(1).join("\n")
    }`;
    return e;
  }
  return err;
}
