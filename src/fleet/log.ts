/** The part of a Redis client the fleet log uses: raw commands, so replies are plain values. */
export interface RedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/** One version of the fleet's config. */
export interface LogEntry {
  readonly version: number;
  /** The whole config, as JSON: validated on arrival like a file. */
  readonly config: string;
  /** Who made it (JSON: instance, via, by), for history and logs. */
  readonly meta: string;
}

/** How many versions the stream keeps (about; an instance further behind starts from the newest). */
export const LOG_KEEP = 1000;

/**
 * Appends the next version if the newest is still `expected`: versions are the stream's
 * entry ids (`N-0`), so they are dense, ordered, and never reused; two instances proposing at
 * once cannot both win.
 */
const APPEND = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local v = 0
if #last > 0 then v = tonumber(string.match(last[1][1], '^(%d+)')) end
if v ~= tonumber(ARGV[1]) then return {0, v} end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], (v + 1) .. '-0', 'config', ARGV[2], 'meta', ARGV[3])
return {1, v + 1}
`;

/** Adds version ARGV[1] only if the log is behind it (empty after a Redis restart without persistence): a re-seed. */
const SEED = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local v = 0
if #last > 0 then v = tonumber(string.match(last[1][1], '^(%d+)')) end
if v >= tonumber(ARGV[1]) then return {0, v} end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], ARGV[1] .. '-0', 'config', ARGV[2], 'meta', ARGV[3])
return {1, tonumber(ARGV[1])}
`;

/** The Redis keys of a fleet; `{name}` is a hash tag, so a Redis Cluster keeps them on one node. */
export function fleetKeys(name: string) {
  const p = `switchyard:{${name}}`;
  return {
    log: `${p}:log`,
    instances: `${p}:instances`,
    leader: `${p}:leader`,
    /** Pub/sub: an instance applied a version ({id, version, at}). */
    applied: `${p}:applied`,
    /** Pub/sub: the leader asks every instance for its rollout traffic ({nonce}). */
    report: `${p}:report`,
    /** Pub/sub: an instance's rollout traffic ({id, boot, nonce, traffic}). */
    reports: `${p}:reports`,
  } as const;
}

/**
 * The fleet's versioned, ordered log of configs: one Redis stream whose entry ids are the
 * version numbers. Every instance applies the versions in order from the last one it
 * applied; a change is proposed against the version it was planned on.
 */
export class FleetLog {
  private readonly key: string;

  constructor(
    private readonly redis: RedisLike,
    name: string,
  ) {
    this.key = fleetKeys(name).log;
  }

  /** The newest version, or undefined for a fleet that has none yet. */
  async head(): Promise<LogEntry | undefined> {
    const reply = await this.redis.sendCommand(['XREVRANGE', this.key, '+', '-', 'COUNT', '1']);
    return entries(reply)[0];
  }

  /** Add the next version if the newest is `expected`; else say which version is newest now. */
  append(expected: number, config: string, meta: string): Promise<{ ok: boolean; version: number }> {
    return this.script(APPEND, String(expected), config, meta);
  }

  /**
   * Put `version` back as the newest if the log is behind it, as after a Redis restart that
   * lost the data: versions go on from where the fleet was, so no instance skips or reverts.
   */
  seed(version: number, config: string, meta: string): Promise<{ ok: boolean; version: number }> {
    return this.script(SEED, String(version), config, meta);
  }

  private async script(lua: string, version: string, config: string, meta: string): Promise<{ ok: boolean; version: number }> {
    const reply = await this.redis.sendCommand(['EVAL', lua, '1', this.key, version, config, meta, String(LOG_KEEP)]);
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`unexpected reply from the fleet log: ${JSON.stringify(reply)}`);
    return { ok: Number(reply[0]) === 1, version: Number(reply[1]) };
  }

  /** Versions after `version`, oldest first (at most `count`). */
  async after(version: number, count = 100): Promise<LogEntry[]> {
    // Versions are ids `N-0`, so `N-1` is the first id after version N (exclusive ranges need Redis 6.2).
    return entries(await this.redis.sendCommand(['XRANGE', this.key, `${version}-1`, '+', 'COUNT', String(count)]));
  }

  /**
   * Wait up to `blockMs` for versions after `version`. Blocking holds the connection: give
   * the follower a connection of its own.
   */
  async follow(version: number, blockMs: number): Promise<LogEntry[]> {
    const reply = await this.redis.sendCommand(['XREAD', 'COUNT', '100', 'BLOCK', String(blockMs), 'STREAMS', this.key, `${version}-0`]);
    // RESP3: { key: [[id, fields], …] }; RESP2: [[key, [[id, fields], …]]]; null when nothing came.
    if (reply === null || typeof reply !== 'object') return [];
    if (reply instanceof Map) return entries(reply.get(this.key));
    if (!Array.isArray(reply)) return entries((reply as Record<string, unknown>)[this.key]);
    const stream: unknown = reply[0];
    return Array.isArray(stream) ? entries(stream[1]) : [];
  }
}

/** Stream entries `[[id, [field, value, …]], …]` as log entries. */
function entries(reply: unknown): LogEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: LogEntry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[1])) continue;
    const version = Number(String(item[0]).split('-')[0]);
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < item[1].length; i += 2) fields[String(item[1][i])] = String(item[1][i + 1]);
    out.push({ version, config: fields.config ?? '', meta: fields.meta ?? '' });
  }
  return out;
}
