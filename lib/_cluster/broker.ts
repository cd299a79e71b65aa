/**
 * The connection to the Redis broker: one place that knows node-redis.
 * Everything else sends commands as argument lists through
 * {@linkcode Broker} and never sees the client's types.
 *
 * A broker that cannot be reached, or that drops the connection and does
 * not come back, becomes a {@linkcode BrokerError} after a bounded time
 * (`timeout`): the client retries with a short backoff until then, and
 * every command waiting on it fails with that error.
 *
 * May import: node-redis, `node:buffer`, std's `async/deadline.js`, each by
 * a full `npm:` specifier (the library must load from a plain URL, without
 * our import map). Nothing else of this package.
 *
 * @module
 */

import { createClient, RESP_TYPES } from "npm:redis@^5";
import { Buffer } from "node:buffer";
import { deadline } from "npm:deno-std@1.4.0/async/deadline.js";
import { MultiprocessingError } from "../errors.ts";

/**
 * The Redis broker could not be reached, dropped the connection for
 * longer than the pool's `brokerTimeout`, or refused a command (wrong
 * password, no permission). Like every error of the module, it is a
 * `MultiprocessingError`.
 *
 * @example Usage
 * ```ts
 * import { BrokerError, MultiprocessingError } from "@seed/multiprocessing/cluster";
 * const err = new BrokerError("Cannot reach the broker");
 * console.log(err.name, err instanceof MultiprocessingError); // "BrokerError" true
 * ```
 */
export class BrokerError extends MultiprocessingError {
  /** The class's name, `"BrokerError"`. */
  override name = "BrokerError";
  /** The message of an error of this class made without one. */
  static override readonly defaultMessage: string =
    "The Redis broker could not be reached or refused a command";
}

/**
 * A broker URL with its password replaced by `***`, for messages.
 *
 * @param url A `redis://` or `rediss://` URL.
 * @returns The URL safe to print.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.href;
  } catch {
    return "(malformed URL)";
  }
}

/**
 * Checks a broker URL.
 *
 * @param url The URL given by the user.
 * @param what The action, for the message.
 * @param label How the option is called, for the message.
 * @returns The URL as a string.
 * @throws {TypeError} When it is not a `redis://` or `rediss://` URL.
 */
export function checkBrokerUrl(
  url: unknown,
  what: string,
  label = "'broker'",
): string {
  const text = url instanceof URL ? url.href : url;
  if (typeof text !== "string" || !/^rediss?:\/\/[^/]/.test(text)) {
    throw new TypeError(
      `Cannot ${what}: ${label} must be a redis:// or rediss:// URL such as "redis://127.0.0.1:6379", got ${
        typeof text === "string" ? `"${redactUrl(text)}"` : typeof text
      }`,
    );
  }
  try {
    new URL(text);
  } catch {
    throw new TypeError(
      `Cannot ${what}: ${label} is not a valid URL: "${redactUrl(text)}"`,
    );
  }
  return text;
}

/** TLS settings of a `rediss://` broker. */
export interface TlsOptions {
  /**
   * Certificates (PEM text) to trust besides the system's, e.g. the CA
   * that signed a private Redis server's certificate.
   */
  ca?: string | string[];
}

/**
 * How a loop of blocking reads (a caller's results, a host's tasks) rides
 * out a dropped link: after a failed read it pauses a moment while
 * node-redis reconnects, then reads again, until a connection is given up
 * on or the failures have lasted longer than `brokerTimeout`.
 */
export class ReadRetry {
  #opts: { broker: string; brokerTimeout: number };
  #since: number | undefined;

  /**
   * Makes the retry state of one read loop.
   *
   * @param opts The broker URL and `brokerTimeout` (seconds).
   */
  constructor(opts: { broker: string; brokerTimeout: number }) {
    this.#opts = opts;
  }

  /** A read answered: the failures, if any, are over. */
  answered(): void {
    this.#since = undefined;
  }

  /**
   * A read failed.
   *
   * @param err Its error.
   * @param conns The connections the loop needs; one given up on ends it.
   * @returns The error that ends the loop, or `null` after a short pause:
   *   read again.
   */
  async failed(
    err: unknown,
    ...conns: (Broker | null)[]
  ): Promise<BrokerError | null> {
    const since = this.#since ??= performance.now();
    const given = conns.find((c) => c?.failure != null)?.failure;
    if (given != null) return given;
    const { broker, brokerTimeout } = this.#opts;
    if (performance.now() - since >= brokerTimeout * 1000 + 1000) {
      return new BrokerError(
        `Cannot use the broker at ${redactUrl(broker)}: ${
          err instanceof Error ? err.message : String(err)
        } (for ${brokerTimeout}s)`,
        { cause: err },
      );
    }
    await new Promise((r) => setTimeout(r, 100));
    return null;
  }
}

/** A reply as node-redis gives it (arrays, strings or Buffers, numbers). */
export type Reply = unknown;

const asBuffers = { [RESP_TYPES.BLOB_STRING]: Buffer };

/** One connection to the broker. */
export class Broker {
  #client: ReturnType<typeof createClient>;
  #url: string;
  #timeout: number;
  #tls: TlsOptions | undefined;
  #failure: BrokerError | null = null;
  #closed = false;

  private constructor(
    url: string,
    timeoutSeconds: number,
    tls: TlsOptions | undefined,
  ) {
    this.#url = url;
    this.#timeout = timeoutSeconds;
    this.#tls = tls;
    const ca = tls?.ca === undefined
      ? undefined
      : Array.isArray(tls.ca)
      ? tls.ca
      : [tls.ca];
    let since = 0;
    this.#client = createClient({
      url,
      // A command sent while the link is down waits for it to come back
      // (bounded by the reconnect strategy below), not forever.
      disableOfflineQueue: false,
      socket: {
        ...(url.startsWith("rediss:") && ca !== undefined
          ? { tls: true as const, ca }
          : {}),
        connectTimeout: Math.max(100, timeoutSeconds * 1000),
        reconnectStrategy: (retries: number, cause: Error) => {
          if (this.#closed) return false;
          if (retries === 0) since = Date.now();
          if (Date.now() - since >= this.#timeout * 1000) {
            this.#failure = this.#lost(cause);
            return this.#failure;
          }
          return Math.min(50 * (retries + 1), 500);
        },
      },
    });
    // node-redis reports every failed attempt as an "error" event; an
    // unheard one would end the program. The lasting failure is reported
    // by the reconnect strategy above, through the commands.
    this.#client.on("error", () => {});
  }

  #lost(cause: unknown): BrokerError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new BrokerError(
      `Cannot reach the broker at ${
        redactUrl(this.#url)
      }: ${why} (gave up after ${this.#timeout}s); check that Redis runs there and the URL, user and password are right`,
      { cause },
    );
  }

  /**
   * Connects, retrying for at most `timeout` seconds.
   *
   * @param url The broker URL.
   * @param timeout Seconds to keep trying.
   * @param tls TLS settings of a `rediss://` URL.
   * @returns The connected broker.
   * @throws {BrokerError} When it cannot connect in time, or Redis
   *   refuses the login.
   */
  static async connect(
    url: string,
    timeout: number,
    tls?: TlsOptions,
  ): Promise<Broker> {
    const broker = new Broker(url, timeout, tls);
    try {
      // node-redis's own connect timeout covers one attempt; this bounds
      // the attempts and their backoff together.
      await deadline(broker.#client.connect(), timeout * 1000 + 500);
    } catch (err) {
      broker.destroy();
      throw broker.#failure ??
        (err instanceof BrokerError ? err : broker.#lost(
          err instanceof DOMException && err.name === "TimeoutError"
            ? new Error("connection timed out")
            : err,
        ));
    }
    return broker;
  }

  /**
   * A second connection to the same broker (for blocking reads, which
   * hold their connection while they wait).
   *
   * @returns The new connection.
   */
  duplicate(): Promise<Broker> {
    return Broker.connect(this.#url, this.#timeout, this.#tls);
  }

  /** The lasting failure, once the broker is given up on. */
  get failure(): BrokerError | null {
    return this.#failure;
  }

  /**
   * Sends one command; commands sent in the same turn of the event loop
   * travel together (node-redis pipelines them).
   *
   * @param args The command and its arguments.
   * @returns The reply, bulk strings as strings.
   * @throws {BrokerError} When the broker is lost.
   */
  send(args: (string | Buffer)[]): Promise<Reply> {
    return this.#wrap(this.#client.sendCommand(args));
  }

  /**
   * Like {@linkcode Broker.send}, with bulk strings as Buffers (for
   * payloads).
   *
   * @param args The command and its arguments.
   * @returns The reply, bulk strings as Buffers.
   */
  sendRaw(args: (string | Buffer)[]): Promise<Reply> {
    return this.#wrap(
      this.#client.sendCommand(args, { typeMapping: asBuffers }),
    );
  }

  /**
   * Creates a consumer group on a stream (and the stream) unless the
   * group exists.
   *
   * @param stream The stream's key.
   * @param group The group's name.
   */
  async createGroup(stream: string, group: string): Promise<void> {
    try {
      await this.send(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("BUSYGROUP")) {
        throw err;
      }
    }
  }

  async #wrap(p: Promise<unknown>): Promise<Reply> {
    try {
      return await p;
    } catch (err) {
      if (this.#failure !== null) throw this.#failure;
      if (
        err instanceof Error && /^(NOAUTH|WRONGPASS|NOPERM)/.test(err.message)
      ) {
        throw new BrokerError(
          `Cannot use the broker at ${redactUrl(this.#url)}: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /**
   * Subscribes this connection to a channel (it can then only listen).
   *
   * @param channel The channel.
   * @param listener Called with each message.
   */
  async subscribe(
    channel: string,
    listener: (message: string) => void,
  ): Promise<void> {
    await this.#client.subscribe(
      channel,
      (message: string) => listener(message),
    );
  }

  /** Lets the program end while this connection is open and idle. */
  unref(): void {
    this.#client.unref();
  }

  /** Keeps the program alive while this connection is open. */
  ref(): void {
    this.#client.ref();
  }

  /**
   * Closes the connection after the commands sent are answered; when the
   * broker does not answer them within its timeout (it is down, and the
   * client has stopped reconnecting), drops them: they fail.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = this.#client.close();
    try {
      // Its timer also keeps the program alive until the connection is
      // closed (the connection itself may be unref'd).
      await deadline(closing, Math.max(100, this.#timeout * 1000));
    } catch {
      // Not answered in time, or node-redis had closed the client itself
      // (it gave up reconnecting). destroy() ignores a closed client; the
      // commands still waiting fail with this.
      closing.catch(() => {});
      this.#failure ??= new BrokerError(
        `Cannot finish the command: its connection to the broker at ${
          redactUrl(this.#url)
        } was closed, and the broker had not answered within ${this.#timeout}s`,
      );
      this.destroy();
    }
  }

  /** Closes the connection now; waiting commands fail. */
  destroy(): void {
    this.#closed = true;
    try {
      this.#client.destroy();
    } catch {
      // Already closed.
    }
  }
}
