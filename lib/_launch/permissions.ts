/**
 * A `deno` child's Deno permissions (`"subprocess"` start method): checking
 * a `permissions` option (its shape, and that it asks for no more than this
 * program has) and resolving it to the grants the child's flags are made
 * from (`child_spawn.ts`).
 *
 * @module
 */

/** The kinds of Deno permission, as `--allow-<kind>` flags name them. */
export const KINDS = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
] as const;

/** One kind of Deno permission. */
export type Kind = typeof KINDS[number];

/** A permission as resolved for the child's flags. */
export type Grant = true | false | string[];

/** What a child gets of each kind; `null`: no flag (Deno's default). */
export type Grants = Record<Kind, Grant | null>;

function entryOf(
  permissions: Deno.PermissionOptions | undefined,
  kind: Kind,
): "inherit" | boolean | Array<string | URL> {
  if (permissions === undefined || permissions === "inherit") return "inherit";
  if (permissions === "none") return false;
  return permissions[kind] ?? false;
}

function descriptor(kind: Kind, item?: string): Deno.PermissionDescriptor {
  if (item === undefined) return { name: kind } as Deno.PermissionDescriptor;
  switch (kind) {
    case "read":
    case "write":
    case "ffi":
      return { name: kind, path: item };
    case "net":
    case "import":
      return { name: kind, host: item };
    case "env":
      return { name: "env", variable: item };
    case "run":
      return { name: "run", command: item };
    case "sys":
      return {
        name: "sys",
        kind: item as Deno.SysPermissionDescriptor["kind"],
      };
  }
}

function granted(kind: Kind, item?: string): boolean {
  try {
    return Deno.permissions.querySync(descriptor(kind, item)).state ===
      "granted";
  } catch {
    return false;
  }
}

/** A permission item as a flag names it: a path, a host, a URL. */
export function itemText(item: string | URL): string {
  return item instanceof URL
    ? (item.protocol === "file:"
      ? decodeURIComponent(item.pathname)
      : item.href)
    : item;
}

/**
 * Checks a `permissions` option: its shape, that the start method can
 * honour it, and that it asks for no more than this program has (a child
 * cannot get more permissions than its parent, as with Deno's workers).
 *
 * @param permissions The option (`undefined`: inherit).
 * @param startMethod The start method it is for.
 * @param action What is being done, for error messages.
 * @throws {TypeError} When the option is malformed, used with the
 *   `"worker"` method, or asks for a permission this program lacks.
 */
export function checkPermissions(
  permissions: unknown,
  startMethod: string,
  action: string,
): void {
  if (permissions === undefined || permissions === "inherit") return;
  if (startMethod !== "subprocess") {
    throw new TypeError(
      `Cannot ${action}: 'permissions' needs startMethod "subprocess"; worker threads share the program's permissions`,
    );
  }
  if (permissions === "none") return;
  if (permissions === null || typeof permissions !== "object") {
    throw new TypeError(
      `Cannot ${action}: 'permissions' must be "inherit", "none" or an object, got ${
        String(permissions)
      }`,
    );
  }
  for (const key of Object.keys(permissions)) {
    if (!(KINDS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Cannot ${action}: unknown permission '${key}'; use ${
          KINDS.map((k) => `'${k}'`).join(", ")
        }`,
      );
    }
  }
  for (const kind of KINDS) {
    const v = entryOf(permissions as Deno.PermissionOptions, kind);
    if (v === "inherit" || v === false) continue;
    if (v === true) {
      if (!granted(kind)) {
        throw new TypeError(
          `Cannot ${action}: permission '${kind}' is not granted to this program, and a child cannot have more permissions than its parent`,
        );
      }
      continue;
    }
    if (!Array.isArray(v)) {
      throw new TypeError(
        `Cannot ${action}: permission '${kind}' must be "inherit", a boolean or an array, got ${typeof v}`,
      );
    }
    for (const raw of v) {
      if (typeof raw !== "string" && !(raw instanceof URL)) {
        throw new TypeError(
          `Cannot ${action}: permission '${kind}' lists ${typeof raw}; use strings`,
        );
      }
      const item = itemText(raw);
      if (!granted(kind, item)) {
        throw new TypeError(
          `Cannot ${action}: permission '${kind}' for '${item}' is not granted to this program, and a child cannot have more permissions than its parent`,
        );
      }
    }
  }
}

/**
 * Resolves a `permissions` option (already checked) to the child's grants.
 *
 * @param permissions The option (`undefined`: inherit).
 * @returns Each kind's grant.
 */
export function resolveGrants(
  permissions: Deno.PermissionOptions | undefined,
): Grants {
  const out = {} as Grants;
  for (const kind of KINDS) {
    const v = entryOf(permissions, kind);
    if (v === "inherit") {
      // Only a permission granted in full can be passed on: Deno cannot
      // list the paths or hosts of a partial grant. `import` left alone
      // keeps Deno's default (jsr.io, deno.land, esm.sh …).
      out[kind] = granted(kind) ? true : kind === "import" ? null : false;
    } else if (typeof v === "boolean") {
      out[kind] = v;
    } else {
      out[kind] = v.length === 0 ? false : v.map(itemText);
    }
  }
  return out;
}

/** Whether a child may not reach any socket path it likes. */
export function sandboxed(grants: Grants): boolean {
  return grants.read !== true || grants.write !== true || grants.net !== true;
}
