/**
 * What a parent serves its `deno` child (`"subprocess"` start method):
 * the replies to the child's calls on primitives that live in the
 * parent's shared memory (see `_served/spec.ts`), over the child's main
 * channel or over the second socket its helper thread uses for blocking
 * calls ({@linkcode SyncEndpoint}).
 *
 * @module
 */

import { encodeFrame, type FrameChannel } from "./frames.ts";
import { toRemoteError } from "./protocol.ts";
import { isServedRequest, type ServedPeer } from "../_served/host.ts";
import type {
  ServedReply,
  ServedRequest,
  SyncAddress,
} from "../_served/spec.ts";
import {
  acceptAuthed,
  type ChannelAddress,
  closeLocal,
  listenLocal,
  releasePath,
} from "./sockets.ts";

/** Runs a child's served call and sends the reply back on `channel`. */
export async function answerServed(
  peer: ServedPeer,
  request: ServedRequest,
  channel: FrameChannel,
): Promise<void> {
  const reply = await peer.handle(request);
  if (reply === null) return;
  let frame: Uint8Array;
  try {
    frame = encodeFrame(reply);
  } catch (err) {
    const e = toRemoteError(err);
    const failed: ServedReply = {
      t: "srv-r",
      q: request.q,
      ok: false,
      e: { name: e.name, message: e.message, stack: e.stack },
    };
    frame = encodeFrame(failed);
  }
  channel.send(frame);
}

/**
 * The socket a child's helper thread connects to for its blocking calls
 * on served primitives (see `_served/spec.ts`): opened when the parent
 * first serves the child a primitive, closed once the helper connected.
 */
export class SyncEndpoint {
  #token = crypto.randomUUID();
  #reserved: string | undefined;
  #listener: Deno.Listener | null = null;
  #address: ChannelAddress | undefined;
  #channel: FrameChannel | null = null;
  #peer: ServedPeer | undefined;
  #refed = true;
  #closed = false;

  /** @param reserved A socket path granted to a sandboxed child. */
  constructor(reserved: string | undefined) {
    this.#reserved = reserved;
  }

  /**
   * Where the helper connects; listens there on the first call.
   *
   * @param peer Who answers the calls.
   * @returns The address and token to give the child.
   */
  address(peer: ServedPeer): SyncAddress {
    this.#peer = peer;
    if (this.#address === undefined && !this.#closed) {
      let opened: { listener: Deno.Listener; address: ChannelAddress };
      if (this.#reserved !== undefined) {
        const path = this.#reserved;
        this.#reserved = undefined;
        opened = {
          listener: Deno.listen({ transport: "unix", path }),
          address: { path },
        };
      } else {
        opened = listenLocal();
      }
      this.#listener = opened.listener;
      this.#address = opened.address;
      if (!this.#refed) opened.listener.unref();
      void this.#accept(opened.listener, opened.address);
    }
    return { ...(this.#address ?? { path: "" }), token: this.#token };
  }

  async #accept(
    listener: Deno.Listener,
    address: ChannelAddress,
  ): Promise<void> {
    const channel = await acceptAuthed(
      listener,
      this.#token,
      () => this.#refed,
      (m, ch) => {
        if (isServedRequest(m)) void answerServed(this.#peer!, m, ch);
      },
    );
    if (this.#listener !== null) {
      this.#listener = null;
      closeLocal(listener, address);
    }
    if (channel !== null && this.#closed) channel.close();
    else this.#channel = channel;
  }

  /** Lets it keep the program alive. */
  ref(): void {
    this.#refed = true;
    this.#listener?.ref();
    this.#channel?.ref();
  }

  /** Stops it from keeping the program alive. */
  unref(): void {
    this.#refed = false;
    this.#listener?.unref();
    this.#channel?.unref();
  }

  /** Closes it (the child exited). */
  close(): void {
    this.#closed = true;
    if (this.#reserved !== undefined) {
      releasePath(this.#reserved);
      this.#reserved = undefined;
    }
    const l = this.#listener;
    if (l !== null) {
      this.#listener = null;
      closeLocal(l, this.#address!);
    }
    this.#channel?.close();
  }
}
