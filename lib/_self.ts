/**
 * The identity of the process this code runs in: its name, whether it is
 * a daemon, and who its parent is. The root program is `MainProcess`; a
 * worker entry overwrites this from what its parent sent.
 *
 * @module
 */

import type { ParentInfo } from "./_protocol.ts";
import { currentKey } from "./_runtime.ts";
import { threadId } from "node:worker_threads";

/** What `currentProcess()` describes. */
export interface SelfInfo {
  /** This process's name. */
  name: string;
  /** Whether this process is a daemon. */
  daemon: boolean;
  /** The parent, or `null` in the root program. */
  parent: ParentInfo | null;
}

/** This process's identity (mutated once by the worker entry). */
export const self: SelfInfo = {
  name: "MainProcess",
  daemon: false,
  parent: null,
};

/**
 * What a child needs to know about this process as its parent.
 *
 * @returns The parent info to send.
 */
export function selfAsParent(): ParentInfo {
  return {
    name: self.name,
    pid: Deno.pid,
    ident: threadId,
    daemon: self.daemon,
    key: currentKey(),
  };
}
