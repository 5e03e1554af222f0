/** Small upstream services for gateway tests: real Fastify servers on loopback that say who answered and what they got. */
import { get } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { createGateway } from '../gateway.js';
import { parseGatewayConfig } from '../config/config.js';

export interface Upstream {
  name: string;
  url: string;
  port: number;
  app: FastifyInstance;
}

/** An upstream named `name`; `port` reuses a port (to bring a closed instance back); `readOnly` fails its `/health/writable`. */
export const startUpstream = async (name: string, port = 0, { readOnly = false } = {}): Promise<Upstream> => {
  const app = Fastify();
  app.get('/health/ready', async () => ({ ready: true }));
  app.get('/health/writable', async (_request, reply) => reply.code(readOnly ? 503 : 200).send({ writable: !readOnly }));
  const slow = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return { name };
  };
  app.get<{ Params: { code: string } }>('/slow/status/:code', async (request, reply) =>
    reply.code(Number(request.params.code)).send({ name }),
  );
  app.get('/slow', slow);
  app.get('/v2/slow', slow);
  app.all('/*', async (request) => ({
    name,
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: request.body ?? null,
  }));
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address() as { port: number };
  return { name, url: `http://127.0.0.1:${address.port}`, port: address.port, app };
};

/** A gateway listening on loopback for `config` (without `listen`); its base URL and a close. */
export const startGateway = async (config: Record<string, unknown>) => {
  const gateway = await createGateway(parseGatewayConfig({ listen: { port: 0 }, ...config }));
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gateway.app.server.address() as { port: number };
  return { ...gateway, url: `http://127.0.0.1:${port}`, close: () => gateway.app.close() };
};

/** A GET on a connection of its own, so that a balancer in front (the cluster's, HAProxy) balances each one. */
export const getFresh = (url: string, timeoutMs = 5000) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    get(url, { agent: false, signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    }).on('error', (error) => reject(new Error(`GET ${url}: ${error.message}`)));
  });
