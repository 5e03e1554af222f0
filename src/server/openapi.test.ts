import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { httpCall } from './testing/http.js';
import { serveForTest } from './testing/serve.js';

type Operation = { operationId?: string; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };

describe('the OpenAPI document', () => {
  let document: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
  let close: () => Promise<void>;
  before(async () => {
    const served = await serveForTest(await openEventStore({ engine: 'memory' }));
    close = () => served.client.close();
    document = (await httpCall(served.url, 'GET', '/openapi.json')).json();
  });
  after(() => close());

  const operations = () =>
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );

  it('names every operation once', () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    assert.ok(
      ids.every((id) => typeof id === 'string'),
      JSON.stringify(
        operations()
          .filter(({ operation }) => operation.operationId === undefined)
          .map(({ method, path }) => `${method} ${path}`),
      ),
    );
    assert.equal(new Set(ids).size, ids.length);
  });

  it('types every error as application/problem+json, by reference to one Problem component', () => {
    assert.ok(document.components.schemas.Problem !== undefined && document.components.schemas.RecordedEvent !== undefined);
    let errors = 0;
    for (const { path, method, operation } of operations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]/.test(status)) continue;
        errors++;
        assert.deepEqual(Object.keys(response.content ?? {}), ['application/problem+json'], `${method} ${path} ${status}`);
        assert.equal(response.content!['application/problem+json']!.schema!.$ref, '#/components/schemas/Problem');
      }
    }
    assert.ok(errors > 10);
  });

  it('describes NDJSON reads and Server-Sent Events', () => {
    assert.ok(document.paths['/all']!.get!.responses['200']!.content!['application/x-ndjson']);
    assert.ok(document.paths['/streams/{stream}']!.get!.responses['200']!.content!['application/x-ndjson']);
    assert.ok(document.paths['/subscribe/all']!.get!.responses['200']!.content!['text/event-stream']);
    assert.ok(document.paths['/subscribe/groups/{group}']!.get!.responses['200']!.content!['text/event-stream']);
    assert.equal(
      document.paths['/groups/{group}']!.get!.responses['200']!.content!['application/json']!.schema!.$ref,
      '#/components/schemas/GroupInfo',
    );
    assert.equal(
      document.paths['/all']!.get!.responses['200']!.content!['application/json']!.schema!.$ref,
      '#/components/schemas/EventPage',
    );
  });
});
