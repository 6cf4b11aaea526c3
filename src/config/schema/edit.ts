import type { Config } from './config-schema.js';

/** A config's writable copy, for building the next one. */
export type Draft<T> = { -readonly [K in keyof T]: T[K] extends object ? Draft<T[K]> : T[K] };

/**
 * The next config: a deep copy of `config` changed by `change`, then frozen. The running
 * config is never mutated; admin changes build a new one and apply it like a reload.
 */
export function editConfig(config: Config, change: (draft: Draft<Config>) => void): Config {
  const draft = structuredClone(config) as Draft<Config>;
  change(draft);
  return deepFreeze(draft) as Config;
}

/** Freeze an object graph, so nothing past the parser can change a config by accident. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
