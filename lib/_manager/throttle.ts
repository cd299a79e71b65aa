/**
 * Slows down authkey guessing against a manager's server: once a key
 * check from an address has failed, that address's checks run one at a
 * time, each after a pause that doubles with every failure (50 ms up to
 * 1 s). A right key resets the address. So a stranger gets about one
 * guess a second per address instead of a thousand, and the cap on
 * connections in the handshake (`MAX_UNAUTHENTICATED`) bounds how many
 * wait their turn.
 *
 * @module
 */

/** The first pause after a failure, in milliseconds. */
const FIRST_PAUSE_MS = 50;
/** The longest pause, in milliseconds. */
const MAX_PAUSE_MS = 1000;
/** How many addresses are remembered; the oldest is forgotten first. */
const MAX_ADDRESSES = 4096;

interface Record {
  failures: number;
  /** Settles when the check before this address's next one is done. */
  turn: Promise<void>;
}

/** The pause before a check from an address with `failures` failures. */
export function pauseAfter(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (failures - 1));
}

/** Per-address throttle of authkey checks (see the module doc). */
export class GuessThrottle {
  #records = new Map<string, Record>();

  /**
   * Runs `check` (a key check for a peer at `address`) in its turn.
   *
   * @param address The peer's address (host only).
   * @param check Resolves `true` when the key is right.
   * @returns What `check` returned.
   */
  async check(
    address: string,
    check: () => Promise<boolean>,
  ): Promise<boolean> {
    const r = this.#records.get(address);
    if (r === undefined) {
      // No failure known: no waiting.
      const ok = await check();
      if (!ok) this.#failed(address);
      return ok;
    }
    const before = r.turn;
    let done!: () => void;
    r.turn = new Promise((resolve) => done = resolve);
    try {
      await before;
      await new Promise((resolve) =>
        setTimeout(resolve, pauseAfter(r.failures))
      );
      const ok = await check();
      if (ok) r.failures = 0;
      else r.failures++;
      return ok;
    } finally {
      done();
      if (r.failures === 0 && this.#records.get(address) === r) {
        // Forget a good address once nobody else waits behind this turn.
        r.turn.then(() => {
          if (r.failures === 0) this.#records.delete(address);
        });
      }
    }
  }

  #failed(address: string): void {
    const r = this.#records.get(address);
    if (r !== undefined) {
      r.failures++;
      return;
    }
    if (this.#records.size >= MAX_ADDRESSES) {
      this.#records.delete(this.#records.keys().next().value!);
    }
    this.#records.set(address, { failures: 1, turn: Promise.resolve() });
  }
}
