/**
 * The start method setting shared by `Process`, `Pool` and contexts.
 *
 * @module
 */

/** How processes are started: worker threads, or `deno` OS children. */
export type StartMethod = "worker" | "subprocess";

const METHODS: readonly StartMethod[] = ["worker", "subprocess"];

let current: StartMethod | undefined;

/**
 * Checks a `startMethod` option.
 *
 * @param method The option's value (`undefined` means the default).
 * @param action What is being done, for the error message.
 * @returns The method to use.
 * @throws {TypeError} When the method is not known.
 */
export function checkStartMethod(
  method: unknown,
  action: string,
): StartMethod {
  const m = method ?? current ?? "worker";
  if (!METHODS.includes(m as StartMethod)) {
    throw new TypeError(
      `Cannot ${action}: unknown start method '${
        String(m)
      }'; use "worker" or "subprocess"`,
    );
  }
  return m as StartMethod;
}

/**
 * The global default start method.
 *
 * @returns The method set with `setStartMethod`, else `"worker"`.
 */
export function defaultStartMethod(): StartMethod {
  return current ?? "worker";
}

/**
 * Sets the global default start method.
 *
 * @param method The method.
 */
export function setDefaultStartMethod(method: StartMethod | undefined): void {
  current = method;
}
