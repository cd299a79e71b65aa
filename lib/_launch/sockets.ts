/**
 * The sockets a `deno` child connects to its parent over
 * (`"subprocess"` start method): Unix domain sockets in a private
 * temporary directory (loopback TCP on Windows or when the path would be
 * too long), removed as soon as their child connected, the directory with
 * the last of them; and the authenticated accept (the child proves the
 * token it got over its private stdin pipe, so no other local program can
 * take its place).
 *
 * @module
 */

import { FrameChannel } from "./frames.ts";

/** Where a child finds its parent: a Unix socket, or a loopback port. */
export type ChannelAddress = { path: string } | { port: number };

/** The private directory of this program's sockets, while one is pending. */
let socketDir: string | undefined;
/** Numbers the socket files. */
let socketCount = 0;
/** Sockets not yet connected; the directory goes when none is left. */
let socketsPending = 0;

/**
 * Listens where one child will connect: a Unix domain socket in a private
 * temporary directory (about half the round-trip time of loopback TCP),
 * or 127.0.0.1 on Windows or when the socket path would be too long.
 */
export function listenLocal(): {
  listener: Deno.Listener;
  address: ChannelAddress;
} {
  if (Deno.build.os !== "windows") {
    socketDir ??= Deno.makeTempDirSync({ prefix: "mp-" });
    const path = `${socketDir}/${Deno.pid}-${++socketCount}.sock`;
    if (path.length < 100) {
      socketsPending++;
      return {
        listener: Deno.listen({ transport: "unix", path }),
        address: { path },
      };
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    listener,
    address: { port: (listener.addr as Deno.NetAddr).port },
  };
}

/**
 * Names a second socket next to `path` for a sandboxed child's blocking
 * calls, granted to it at spawn and listened on only if the parent ever
 * serves it a primitive; the directory stays until it is released.
 */
export function reserveSyncPath(path: string): string | undefined {
  const sync = path.replace(/\.sock$/, ".sync.sock");
  if (sync.length >= 100) return undefined;
  socketsPending++;
  return sync;
}

/** Closes a listener from {@linkcode listenLocal} and removes its socket. */
export function closeLocal(
  listener: Deno.Listener,
  address: ChannelAddress,
): void {
  try {
    listener.close();
  } catch {
    // Already closed.
  }
  if ("path" in address) releasePath(address.path);
}

/**
 * Removes a socket file; with no handshake left, the directory goes too,
 * so even a parent killed outright leaves nothing behind.
 */
export function releasePath(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already removed, or never made.
  }
  if (--socketsPending === 0) removeSocketDir();
}

/**
 * Accepts connections until one proves `token` in its first frame, and
 * returns its channel (`null` when the listener closed first). Later
 * frames go to `onMessage`.
 */
export async function acceptAuthed(
  listener: Deno.Listener,
  token: string,
  refed: () => boolean,
  onMessage: (message: unknown, channel: FrameChannel) => void,
): Promise<FrameChannel | null> {
  try {
    while (true) {
      const conn = await listener.accept();
      if (!refed()) conn.unref();
      const authed = Promise.withResolvers<boolean>();
      let first = true;
      const channel: FrameChannel = new FrameChannel(conn, (m) => {
        if (first) {
          first = false;
          authed.resolve((m as { token?: unknown })?.token === token);
          return;
        }
        onMessage(m, channel);
      });
      channel.done.then(() => authed.resolve(false));
      if (await authed.promise) return channel;
      channel.close();
    }
  } catch {
    // The listener closed: the child exited before it connected.
    return null;
  }
}

/** Removes the sockets' directory (the program is ending). */
export function removeSocketDir(): void {
  if (socketDir === undefined) return;
  try {
    Deno.removeSync(socketDir, { recursive: true });
  } catch {
    // Already gone, or not ours to remove any more.
  }
  socketDir = undefined;
}
