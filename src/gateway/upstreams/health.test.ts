import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { until } from '../../testing/until.js';
import { startHealthChecks } from './health.js';
import { createPool } from './pool.js';

describe('active health checks', () => {
  it('take an instance out only after unhealthyAfter failed checks in a row, and put it back on a 2xx', async () => {
    let status = 200;
    let checks = 0;
    // Whether the instance was in rotation as each failing check arrived: rounds go one after another,
    // so by then every earlier check has been counted.
    const inRotationAtFailure: boolean[] = [];
    const server = createServer((_request, response) => {
      checks++;
      if (status !== 200) inRotationAtFailure.push(pool.instances[0]!.healthy);
      response.writeHead(status).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const changes: string[] = [];
    const pool = createPool([url], { onChange: (_url, healthy, reason) => changes.push(`${healthy} ${reason}`) });
    const stop = startHealthChecks([pool], { path: '/health/ready', intervalMs: 20, timeoutMs: 1000, unhealthyAfter: 3 });
    try {
      await until(() => checks >= 2, 'two checks');
      status = 503;
      await until(() => inRotationAtFailure.length >= 4, 'four failed checks');
      assert.deepEqual(inRotationAtFailure.slice(0, 4), [true, true, true, false]);
      status = 200;
      await until(() => pool.instances[0]!.healthy, 'put back');
      assert.deepEqual(changes, ['false health check answered 503', 'true health check answered']);
    } finally {
      stop();
      server.close();
    }
  });
});
