/**
 * The admin web UI (DESIGN.md section 12) at /ui/: the files Vite builds from ui/ into dist/ui, served as
 * public static assets by this server (no second process). The page itself holds no secret: it calls the
 * public HTTP API with the token a person types in, so every call is checked as any client's is.
 *
 * Caching: Vite names every asset by its content hash, so /ui/assets/* never change (immutable, a year);
 * index.html names the current assets and is revalidated on every load (no-cache, with its ETag). Every
 * answer under /ui/ carries a strict Content-Security-Policy: scripts, styles and connections only from
 * this origin, no inline script, no frames, no forms posted anywhere.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const uiContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Pico CSS draws its icons (select arrows, spinners) as data: SVG images.
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Where the built UI is: dist/ui beside the compiled server (dist/server/ui.js), or, when the server runs
 * from its sources (src/server/ui.ts), dist/ui of the checkout. `undefined` when it has not been built.
 */
export const builtUiDir = (): string | undefined => {
  for (const candidate of ['../ui/', '../../dist/ui/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
};

const uiHeaders = (reply: FastifyReply) =>
  reply
    .header('content-security-policy', uiContentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');

/** Serves `dir` (a built UI) at /ui/; without one (or without its index.html), /ui/ says how to build it. All public. */
export const uiRoutes = async (app: FastifyInstance, { dir }: { dir: string | undefined }) => {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' };
  });
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/', 301));
  if (dir === undefined || !existsSync(join(dir, 'index.html'))) {
    app.get('/ui/*', { schema: { hide: true } }, async (_request, reply) =>
      uiHeaders(reply)
        .code(503)
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send('The admin UI of this copy of Annals is not built. Run `npm run build` (or `npm run build:ui`) in its folder.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/ui/',
    index: 'index.html',
    // Cache-Control is set below, per file.
    cacheControl: false,
    etag: true,
    lastModified: true,
    wildcard: true,
    decorateReply: false,
    schemaHide: true,
    setHeaders: (reply, path) => {
      const immutable = /[\\/]assets[\\/][^\\/]+-[\w-]{8,}\.\w+$/.test(path);
      uiHeaders(reply).header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};
