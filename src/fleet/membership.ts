import { fleetKeys, type RedisLike } from './log.js';

/** Remove from the index (KEYS[1]) each id (ARGV[i]) whose record key (KEYS[i + 1]) does not exist. */
const PRUNE = `
for i, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then redis.call('SREM', KEYS[1], id) end
end
return 0
`;

/** What an instance says about itself in each heartbeat. */
export interface InstanceRecord {
  readonly id: string;
  /** Its admin API, "host:port". */
  readonly admin: string;
  /** The fleet version it has applied. */
  readonly version: number;
  /** When it applied that version (epoch ms, its own clock). */
  readonly applied_at?: number;
  /** Whether it held the leader lease at this heartbeat. */
  readonly leader?: boolean;
  /** Healthy and total targets per upstream, as this instance sees them (health stays local). */
  readonly upstreams: Readonly<Record<string, { healthy: number; total: number }>>;
  /** When it sent this heartbeat (epoch ms, its own clock). */
  readonly at: number;
}

/**
 * Fleet membership: each instance writes its record under a key of its own with a TTL and
 * renews it every heartbeat; an instance that stops renewing drops out when the key expires.
 * The set of ids is only an index: ids whose key has expired are pruned when listed.
 */
export class Membership {
  private readonly index: string;

  constructor(
    private readonly redis: RedisLike,
    name: string,
    private readonly ttlMs: number,
  ) {
    this.index = fleetKeys(name).instances;
  }

  private key(id: string): string {
    return `${this.index}:${id}`;
  }

  /** Write (or renew) this instance's record. */
  async beat(record: InstanceRecord): Promise<void> {
    await this.redis.sendCommand(['SET', this.key(record.id), JSON.stringify(record), 'PX', String(this.ttlMs)]);
    await this.redis.sendCommand(['SADD', this.index, record.id]);
  }

  /** Leave at once (shutdown), rather than when the TTL runs out. */
  async leave(id: string): Promise<void> {
    await this.redis.sendCommand(['DEL', this.key(id)]);
    await this.redis.sendCommand(['SREM', this.index, id]);
  }

  /** The live instances, by id; expired ones are pruned from the index. */
  async list(): Promise<InstanceRecord[]> {
    const ids = await this.redis.sendCommand(['SMEMBERS', this.index]);
    if (!Array.isArray(ids) || ids.length === 0) return [];
    const names = ids.map(String).sort();
    const values = await this.redis.sendCommand(['MGET', ...names.map((id) => this.key(id))]);
    const live: InstanceRecord[] = [];
    const gone: string[] = [];
    names.forEach((id, i) => {
      const raw = Array.isArray(values) ? values[i] : null;
      const record = parse(raw);
      if (record) live.push(record);
      else gone.push(id);
    });
    // Only ids whose key is still gone: an instance that beat again meanwhile stays listed.
    if (gone.length > 0) await this.redis.sendCommand(['EVAL', PRUNE, String(gone.length + 1), this.index, ...gone.map((id) => this.key(id)), ...gone]);
    return live;
  }
}

/** A record read back, or undefined for an expired key or one that is not a record. */
function parse(raw: unknown): InstanceRecord | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const r = JSON.parse(raw) as Partial<Record<keyof InstanceRecord, unknown>>;
    const time = (t: unknown) => typeof t === 'number' && Number.isFinite(t) && Math.abs(t) < 8.64e15;
    const ok =
      typeof r.id === 'string' &&
      typeof r.admin === 'string' &&
      Number.isSafeInteger(r.version) &&
      time(r.at) &&
      (r.applied_at === undefined || time(r.applied_at)) &&
      typeof r.upstreams === 'object' &&
      r.upstreams !== null;
    return ok ? (r as unknown as InstanceRecord) : undefined;
  } catch {
    return undefined;
  }
}
