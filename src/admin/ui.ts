import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../errors.js';
import type { AdminRoute } from './router.js';

/** The dashboard's files: the page and styles, its compiled script, and the libraries it loads (all served from the package: no CDN). */
const ASSETS: readonly { readonly path: string; readonly file: () => string; readonly type: string }[] = [
  { path: '/ui', file: () => join(root(), 'ui/index.html'), type: 'text/html; charset=utf-8' },
  { path: '/ui/assets/app.css', file: () => join(root(), 'ui/app.css'), type: 'text/css; charset=utf-8' },
  { path: '/ui/assets/app.js', file: () => join(root(), 'dist/ui/app.js'), type: 'text/javascript; charset=utf-8' },
  { path: '/ui/assets/preact.mjs', file: () => resolved('preact'), type: 'text/javascript; charset=utf-8' },
  { path: '/ui/assets/hooks.mjs', file: () => resolved('preact/hooks'), type: 'text/javascript; charset=utf-8' },
  { path: '/ui/assets/htm.mjs', file: () => resolved('htm'), type: 'text/javascript; charset=utf-8' },
  { path: '/ui/assets/uPlot.esm.js', file: () => resolved('uplot').replace(/uPlot\.cjs\.js$/, 'uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  { path: '/ui/assets/uPlot.min.css', file: () => resolved('uplot').replace(/uPlot\.cjs\.js$/, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
];

/** No caching of stale builds, no type sniffing, and never inside another site's frame (its buttons move traffic). */
const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
} as const;

/** The package's root: the folder above this module that holds package.json and ui/ (from dist/src/admin or src/admin alike). */
function root(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'ui')))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('the dashboard files are not installed');
    dir = up;
  }
  return dir;
}

/** Where a dependency's entry module is. */
function resolved(specifier: string): string {
  return fileURLToPath(import.meta.resolve(specifier));
}

/**
 * GET /ui and its assets, each read on first use and then served from memory. They hold no
 * data, so they are served without the admin token: the page asks for it (a login form that
 * keeps it for the tab) and sends it with every call and with the live feed.
 */
export function uiRoutes(tokenRequired: boolean): AdminRoute[] {
  // Whether to show the login form first (rather than learn it from a refused call).
  const auth: AdminRoute = { methods: ['GET'], path: '/ui/auth', public: true, handler: () => ({ status: 200, body: { token_required: tokenRequired } }) };
  return [
    auth,
    ...ASSETS.map((asset): AdminRoute => {
      let body: Promise<Buffer> | undefined;
      return {
        methods: ['GET'],
        path: asset.path,
        public: true,
        handler: async () => {
          body ??= readFile(asset.file());
          const text = await body.catch(() => {
            body = undefined;
            throw new NotFoundError(`${asset.path} is not built: run npm run build`);
          });
          return { status: 200, text, contentType: asset.type, headers: HEADERS };
        },
      };
    }),
  ];
}
