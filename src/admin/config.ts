import { stringify } from 'yaml';
import { formatDiagnostic, parseConfig } from '../config/load/parse.js';
import type { Config } from '../config/schema/config-schema.js';
import { BadInputError } from '../errors.js';
import { redactUrl } from '../fleet/redis.js';
import type { AdminContext } from './context.js';
import { type AdminRequest, type AdminResponse, type AdminRoute, requireMatch } from './router.js';

/** GET /config (the running config as YAML, like `deck dump`) and POST /config (replace it, like Kong's DB-less /config). */
export function configRoutes(ctx: AdminContext): AdminRoute[] {
  return [
    {
      methods: ['GET'],
      path: '/config',
      handler: () => {
        const snap = ctx.pipeline.current;
        return { status: 200, text: dump(snap.config), contentType: 'application/yaml; charset=utf-8', etag: `"${snap.hash}"` };
      },
    },
    { methods: ['POST'], path: '/config', handler: (req) => replace(ctx, req) },
  ];
}

/** The config as YAML, without the admin token or a Redis password: the dump may be shared, the secrets may not. */
export function dump(config: Config): string {
  const { token: _token, ...admin } = config.admin;
  const fleet = config.fleet?.redis ? { fleet: { ...config.fleet, redis: redactUrl(config.fleet.redis) } } : {};
  return stringify({ ...config, admin, ...fleet }, { lineWidth: 0 });
}

async function replace(ctx: AdminContext, req: AdminRequest): Promise<AdminResponse> {
  // If-Match is checked where no other change can come between it and the write.
  const unchanged = () => requireMatch(req, `"${ctx.pipeline.current.hash}"`);
  unchanged();
  // A JSON body whose `config` field holds the YAML text is accepted too, as Kong's /config takes.
  const text = typeof req.body.config === 'string' ? req.body.config : req.raw;
  if (text.trim() === '') throw new BadInputError('send the new config as the request body (YAML or JSON)');
  const result = ctx.file ? await ctx.file.replace(text, unchanged) : parseConfig(text, 'request body');
  if (!result.ok) {
    const errors = result.errors.map(formatDiagnostic);
    throw new BadInputError(`declarative config is invalid: ${errors.join('; ')}`, { errors });
  }
  const running = ctx.pipeline.current.config;
  const lagging = await ctx.pipeline.done(ctx.pipeline.apply({ kind: 'config', config: result.config }, req.actor));
  // Rollouts the new config carries were taken up in the same call: report what runs now.
  const snap = ctx.pipeline.current;
  const restart = (['proxy', 'admin'] as const).filter((k) => JSON.stringify(running[k]) !== JSON.stringify(result.config[k]));
  return {
    status: 200,
    body: {
      generation: snap.generation,
      config_hash: snap.hash,
      warnings: [...result.warnings.map(formatDiagnostic), ...restart.map((k) => `${k} listener settings changed: they take effect on restart`), ...lagging],
    },
    etag: `"${snap.hash}"`,
  };
}
