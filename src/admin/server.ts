import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { SwitchyardError } from '../errors.js';
import { listen } from '../address.js';
import { readBody } from './body.js';
import { AdminRouter, adminErrorBody, type AdminRoute } from './router.js';

/** Admin listener settings. */
export interface AdminOptions {
  /** When set, every request needs `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** The admin API listener: auth, body limits, routing, and JSON errors in Kong's shape. */
export class AdminServer {
  readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly router: AdminRouter;
  private readonly tokenDigest?: Buffer;

  constructor(routes: readonly AdminRoute[], opts: AdminOptions = {}) {
    this.router = new AdminRouter(routes);
    if (opts.token) this.tokenDigest = digest(opts.token);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    try {
      const url = new URL(req.url ?? '/', 'http://admin');
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const match = this.router.match(method, url.pathname);
      // The dashboard's page and assets hold no data: served to anyone; everything else needs the token.
      if (match === undefined || !('handler' in match) || !match.public) this.authorize(req);
      if (match === undefined) throw new SwitchyardError('NOT_FOUND', 'Not found');
      if (!('handler' in match)) {
        res.setHeader('allow', match.allowed.join(', '));
        throw new SwitchyardError('METHOD_NOT_ALLOWED', `method ${method} is not allowed here (allowed: ${match.allowed.join(', ')})`);
      }
      const { raw, body } = await readBody(req);
      const remoteAddress = req.socket.remoteAddress ?? '';
      const out = await match.handler({
        method,
        params: match.params,
        query: url.searchParams,
        body,
        raw,
        contentType: req.headers['content-type'] ?? '',
        remoteAddress,
        actor: { via: 'admin', by: remoteAddress },
        ifMatch: req.headers['if-match'],
      });
      if (out.etag !== undefined) res.setHeader('etag', out.etag);
      for (const [name, value] of Object.entries(out.headers ?? {})) res.setHeader(name, value);
      if (out.stream) {
        res.writeHead(out.status, { 'content-type': out.contentType ?? 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
        out.stream(res);
        return;
      }
      if (out.text !== undefined) send(res, started, out.status, out.text, out.contentType ?? 'text/plain; charset=utf-8');
      else if (out.body === undefined) send(res, started, out.status, '', undefined);
      else send(res, started, out.status, JSON.stringify(out.body, null, 2) + '\n', 'application/json; charset=utf-8');
    } catch (err) {
      const e = err instanceof SwitchyardError ? err : new SwitchyardError('INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`);
      send(res, started, e.status, JSON.stringify(adminErrorBody(e)) + '\n', 'application/json; charset=utf-8');
    }
  }

  /** Constant-time bearer token check (digests make the lengths equal). */
  private authorize(req: http.IncomingMessage): void {
    if (!this.tokenDigest) return;
    // The scheme is case-insensitive (RFC 9110 section 11.1).
    const m = /^bearer +(.*)$/i.exec(req.headers.authorization ?? '');
    const given = m ? m[1] : '';
    if (!timingSafeEqual(digest(given), this.tokenDigest)) {
      throw new SwitchyardError('UNAUTHORIZED', 'Unauthorized: send the admin token as "Authorization: Bearer <token>"');
    }
  }

  /** Listen on "host:port"; resolves with the bound "host:port". */
  listen(address: string): Promise<string> {
    return listen(this.server, address);
  }

  /** Stop accepting and close idle connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Write an answer, with how long it took here since the request arrived (W3C Server-Timing): a change's cost to switchyard, apart from network and client. */
function send(res: http.ServerResponse, started: number, status: number, body: string | Buffer, contentType: string | undefined): void {
  if (res.headersSent) return;
  res.setHeader('server-timing', `total;dur=${(performance.now() - started).toFixed(2)}`);
  // A refused body (413) is left unread, so that connection cannot carry another request.
  if (!res.req.complete) res.setHeader('connection', 'close');
  if (contentType) res.setHeader('content-type', contentType);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(body);
}
