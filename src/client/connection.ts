import { readFile } from 'node:fs/promises';
import { isMap, parseDocument } from 'yaml';
import { expandString } from '../config/load/env.js';
import { joinHostPort, splitHostPort } from '../address.js';
import type { AdminEndpoint } from './admin-client.js';

/** The admin address when neither --admin nor a config file says otherwise (the config's default). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8001';

/** The environment variable the token is read from, as the shipped config does. */
export const TOKEN_ENV = 'SWITCHYARD_ADMIN_TOKEN';

/** A problem with how the command was called (bad flag, unreadable config): a usage error. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The flags and environment that say where the admin API is. */
export interface ConnectionFlags {
  readonly admin?: string;
  readonly token?: string;
  readonly config?: string;
}

/**
 * Where to send admin calls: --admin, else admin.listen of the -c config, else the default;
 * the token from --token, else SWITCHYARD_ADMIN_TOKEN, else the config's admin.token.
 */
export async function resolveEndpoint(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Promise<AdminEndpoint> {
  const fromFile = flags.config === undefined ? {} : await readAdminSection(flags.config, env);
  const url =
    flags.admin !== undefined
      ? normalizeUrl(flags.admin)
      : fromFile.listen !== undefined
        ? listenToUrl(fromFile.listen, flags.config ?? '')
        : DEFAULT_ADMIN_URL;
  const token = flags.token || env[TOKEN_ENV] || fromFile.token || undefined;
  return { url, token };
}

/** "host:8001", "http://host:8001/" or "https://…" → a base URL without a trailing slash. */
export function normalizeUrl(given: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--admin: "${given}" is not a URL (expected e.g. http://127.0.0.1:8001)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--admin: expected an http:// or https:// URL, got "${given}"`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** An admin.listen address as a URL to call: a wildcard bind is reached on loopback. */
export function listenToUrl(listen: string, file: string): string {
  let host: string;
  let port: number;
  try {
    ({ host, port } = splitHostPort(listen));
  } catch {
    throw new UsageError(`${file}: admin.listen "${listen}" is not HOST:PORT`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${file}: admin.listen "${listen}" has no usable port`);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return `http://${joinHostPort(host, port)}`;
}

/** admin.listen and admin.token of a config file, with ${VAR} expanded; the rest is not read. */
async function readAdminSection(file: string, env: NodeJS.ProcessEnv): Promise<{ listen?: string; token?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the config ${file}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new UsageError(`${file}: not valid YAML (${doc.errors[0].message}); check it with switchyard validate ${file}`);
  const admin = doc.get('admin');
  if (!isMap(admin)) return {};
  const value = (key: string): string | undefined => {
    const v = admin.get(key);
    if (v === undefined || v === null) return undefined;
    const expanded = expandString(String(v), env);
    if ('errors' in expanded) {
      if (key === 'token') return undefined; // the server will say 401 if one was needed
      throw new UsageError(`${file}: admin.${key}: ${expanded.errors[0]}`);
    }
    return expanded.value === '' ? undefined : expanded.value;
  };
  return { listen: value('listen'), token: value('token') };
}
