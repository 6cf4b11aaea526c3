import { type Dispatcher, Pool as UndiciPool } from 'undici';
import { H2Sessions } from './h2-sessions.js';
import type { PoolMember } from '../balancer/pool.js';
import type { HealthRegistry } from '../health/registry.js';
import type { TargetHealth } from '../health/state.js';

/** How a service speaks to its targets (Kong's names, and http2 for plain HTTP/2). */
export type TargetProtocol = 'http' | 'https' | 'http2' | 'grpc' | 'grpcs';

/** What the proxy asks of a target's connections: undici's Pool for HTTP/1.1, node:http2 sessions for HTTP/2. */
export type TargetDispatcher = Pick<Dispatcher, 'dispatch' | 'close' | 'destroy'>;

/** Streams one HTTP/2 session to a target is expected to carry (its peer's usual limit): max_connections / this sessions at most. */
const H2_STREAMS = 100;

/** Connection settings that shape a target's keep-alive pool. */
export interface TargetOptions {
  readonly protocol: TargetProtocol;
  readonly connectTimeout: number;
  /** With https: check the target's certificate. */
  readonly tlsVerify: boolean;
  /** Connections to the target at most; requests beyond wait in the pool's queue. */
  readonly maxConnections: number;
  /** An idle connection closes after this many milliseconds. */
  readonly keepAliveMs: number;
  /** A mirror's copies get pools of their own, so that they never take a connection live traffic waits for. */
  readonly mirror?: boolean;
}

/**
 * Runtime state of one target address: its keep-alive connection pool and its health.
 * It lives outside the config snapshot, so a reload or a switch keeps connections and
 * health (Kong issues #4864 and #5581 are what happens otherwise).
 */
export class Target implements PoolMember {
  readonly address: string;
  readonly origin: string;
  readonly dispatcher: TargetDispatcher;
  /** Shared by every pool of this address: health belongs to the address, not the pool. */
  readonly health: TargetHealth;
  /** With https: whether the target's certificate is checked. */
  readonly tlsVerify: boolean;

  constructor(address: string, opts: TargetOptions, health: TargetHealth) {
    this.address = address;
    this.health = health;
    this.tlsVerify = opts.tlsVerify;
    const tls = opts.protocol === 'https' || opts.protocol === 'grpcs';
    this.origin = `${tls ? 'https' : 'http'}://${address}`;
    const h2 = opts.protocol === 'http2' || opts.protocol === 'grpc' || opts.protocol === 'grpcs';
    if (h2) {
      // HTTP/2 targets: streams multiplexed on few sessions; ALPN h2 over TLS, h2c (prior knowledge) without.
      const maxSessions = Math.max(1, Math.ceil(opts.maxConnections / H2_STREAMS));
      this.dispatcher = new H2Sessions(this.origin, { tlsVerify: opts.tlsVerify, connectTimeout: opts.connectTimeout, maxSessions, idleMs: opts.keepAliveMs });
      return;
    }
    this.dispatcher = new UndiciPool(this.origin, {
      // Bounded: a thousand clients share a few busy connections instead of opening one each.
      connections: opts.maxConnections,
      pipelining: 1,
      // Idle connections close after keepalive_timeout, whatever longer keep-alive the target
      // advertises: a busy pool is never idle that long, and a quiet one gives its descriptors back.
      keepAliveTimeout: opts.keepAliveMs,
      keepAliveMaxTimeout: opts.keepAliveMs,
      connect: { timeout: opts.connectTimeout, rejectUnauthorized: opts.tlsVerify },
    });
  }

  /** False while health checks (or an operator) hold the target out of rotation. */
  get healthy(): boolean {
    return this.health.healthy;
  }
}

/** All targets in use, keyed by address and connection settings; snapshots borrow from it. */
export class TargetRegistry {
  private readonly targets = new Map<string, Target>();

  constructor(readonly health: HealthRegistry) {}

  /** The target for an address, created on first use. */
  get(address: string, opts: TargetOptions): Target {
    const key = `${opts.protocol}://${address}#${opts.connectTimeout}#${opts.tlsVerify}#${opts.maxConnections}#${opts.keepAliveMs}${opts.mirror ? '#mirror' : ''}`;
    let t = this.targets.get(key);
    if (!t) {
      t = new Target(address, opts, this.health.get(address));
      this.targets.set(key, t);
    }
    return t;
  }

  /**
   * Close the pools of targets no longer in `inUse`. undici's close() lets in-flight
   * requests finish first, so a removed target drains rather than failing requests.
   */
  async retain(inUse: ReadonlySet<Target>): Promise<void> {
    this.health.retain(new Set([...inUse].map((t) => t.address)));
    const closing: Promise<void>[] = [];
    for (const [key, t] of this.targets) {
      if (inUse.has(t)) continue;
      this.targets.delete(key);
      closing.push(t.dispatcher.close().catch(() => undefined));
    }
    await Promise.all(closing);
  }

  /** Close every pool, aborting what is still in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.dispatcher.destroy().catch(() => undefined)));
    this.targets.clear();
  }
}
