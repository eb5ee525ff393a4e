import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PortalCode, PortalError } from './errors';

/** The pages' files: index.html, the stylesheet, the compiled browser modules, ECharts. Read once at start. */
const WEB_DIR = resolve(__dirname, '..', 'web');
const SCRIPT_DIR = join(WEB_DIR, 'dist', 'web-src');
const ASSET_NAME = /^[a-zA-Z][a-zA-Z0-9-]*\.(js|css)$/;

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export function registerAssets(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  const read = (path: string): Buffer => {
    let content = cache.get(path);
    if (!content) {
      content = readFileSync(path);
      cache.set(path, content);
    }
    return content;
  };
  app.get('/', { schema: { hide: true } }, (_request, reply) => {
    let page: Buffer;
    try {
      page = read(join(WEB_DIR, 'index.html'));
    } catch {
      throw new PortalError(503, PortalCode.NotBuilt, 'the pages are not built: run npm run build');
    }
    return reply.type('text/html; charset=utf-8').send(page);
  });
  app.get<{ Params: { name: string } }>('/assets/:name', { schema: { hide: true } }, (request, reply) => {
    const { name } = request.params;
    // Names only, never paths: nothing outside the web folder is served.
    if (!ASSET_NAME.test(name)) throw new PortalError(404, PortalCode.NotFound, `no asset ${name}`);
    const extension = name.slice(name.lastIndexOf('.') + 1);
    const path = extension === 'css' ? join(WEB_DIR, name) : join(SCRIPT_DIR, name);
    try {
      return reply.type(TYPES[extension]).header('cache-control', 'no-cache').send(read(path));
    } catch {
      throw new PortalError(404, PortalCode.NotFound, `no asset ${name}`);
    }
  });
  app.get('/vendor/echarts.min.js', { schema: { hide: true } }, (_request, reply) =>
    reply
      .type(TYPES.js)
      .header('cache-control', 'max-age=86400')
      .send(read(require.resolve('echarts/dist/echarts.min.js'))),
  );
}
