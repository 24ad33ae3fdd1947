/**
 * Local HTTP endpoint (CONTRACT 1): `/healthz`, `/metrics` (Prometheus), `/status` (the status
 * snapshot `tkgw status` reads). Loopback by default; a non-loopback bind needs a token (config
 * validation refuses it otherwise) and every request must then carry it.
 */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HttpRoutes {
  health(): HealthReport;
  /** created on the first scrape: prom-client is not loaded for gateways nobody scrapes */
  metrics(): Promise<{ metrics(): Promise<string>; contentType: string }>;
  status(): unknown;
  /** POST /commands from `tkgw command` (same path as MQTT requests); returns the first result */
  command?(body: Buffer): unknown;
  /** extra routes (the depot status page); return false when not handled */
  extra?(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean | Promise<boolean>;
}

export interface HttpOptions {
  host: string;
  port: number;
  token?: string | undefined;
}

export interface HttpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export class OpsHttpServer {
  private server: http.Server | undefined;

  constructor(
    private readonly options: HttpOptions,
    private readonly routes: HttpRoutes,
    private readonly log: HttpLogger,
  ) {}

  async start(): Promise<{ host: string; port: number }> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.warn({ err: String(err), url: req.url }, 'http handler failed');
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    });
    // A stuck client must not pin a socket forever on a small box.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as { address: string; port: number };
    this.log.info({ host: addr.address, port: addr.port }, 'local http endpoint listening');
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private authorized(req: http.IncomingMessage, url: URL): boolean {
    const token = this.options.token;
    if (!token) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('token') ?? '');
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.authorized(req, url)) {
      send(res, 401, 'application/json', JSON.stringify({ error: 'token required' }) + '\n');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/commands' && this.routes.command) {
      const body = await readBody(req, 65_536);
      if (!body) {
        send(res, 413, 'application/json', JSON.stringify({ error: 'body too large' }) + '\n');
        return;
      }
      send(res, 200, 'application/json', JSON.stringify(this.routes.command(body)) + '\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/healthz': {
        const report = this.routes.health();
        send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify(report) + '\n');
        return;
      }
      case '/metrics': {
        const registry = await this.routes.metrics();
        send(res, 200, registry.contentType, await registry.metrics());
        return;
      }
      case '/status':
        send(res, 200, 'application/json', JSON.stringify(this.routes.status()) + '\n');
        return;
      default:
        if (this.routes.extra && (await this.routes.extra(req, res, url))) return;
        send(res, 404, 'text/plain', 'not found\n');
    }
  }
}

async function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
