/**
 * Smooth weighted round-robin, as in nginx (ngx_http_upstream_get_peer): each pick adds
 * every available item's weight to its running score, takes the highest score and
 * subtracts the total weight from it. Picks interleave (no bursts), and the sequence
 * repeats every sum(weights) picks, so every window of that length holds each item
 * exactly weight times. O(items) per pick and allocation-free.
 */
export class WeightedRoundRobin<T> {
  readonly items: readonly T[];
  readonly weights: readonly number[];
  private readonly isAvailable: (item: T) => boolean;
  private readonly scores: Float64Array;
  /** Availability seen at the last pick; a change restarts the cycle so shares stay exact. */
  private readonly seen: Uint8Array;

  /** `isAvailable` is asked on every pick (health); weight 0 items are never picked. */
  constructor(items: readonly T[], weights: readonly number[], isAvailable: (item: T) => boolean = () => true) {
    if (items.length !== weights.length) throw new RangeError('items and weights differ in length');
    this.items = items;
    this.weights = weights;
    this.isAvailable = isAvailable;
    this.scores = new Float64Array(items.length);
    this.seen = new Uint8Array(items.length).fill(1);
  }

  /** The next item, or undefined when no item has weight and is available. */
  pick(): T | undefined {
    const { items, weights, scores, seen } = this;
    let total = 0;
    let best = -1;
    let changed = false;
    for (let i = 0; i < items.length; i++) {
      const up = weights[i] > 0 && this.isAvailable(items[i]) ? 1 : 0;
      if (up !== seen[i]) {
        seen[i] = up;
        changed = true;
      }
      if (up === 0) continue;
      scores[i] += weights[i];
      total += weights[i];
      if (best < 0 || scores[i] > scores[best]) best = i;
    }
    if (best < 0) return undefined;
    if (changed) return this.restart();
    scores[best] -= total;
    return items[best];
  }

  /** Forget the running scores: the next pick starts a fresh cycle over the available items. */
  reset(): void {
    this.scores.fill(0);
  }

  /** The set of available items changed: start a fresh cycle so a returning item rejoins smoothly. */
  private restart(): T | undefined {
    this.reset();
    return this.pick();
  }
}
