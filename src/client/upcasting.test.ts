/**
 * Upcasting through the client: the server opens its store without upcasters and sends events as stored;
 * the client upcasts them, and widens the types of its filters before they are sent.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connect } from './connect.js';
import { InvalidArgumentError } from '../store/errors.js';
import { openEventStore } from '../engines/open.js';
import { serveForTest } from '../server/testing/serve.js';
import { describeUpcasting } from '../store/conformance/upcasting.js';

describeUpcasting('client, server without upcasters', async (upcasters) => {
  const { client: writer, url } = await serveForTest(await openEventStore({ engine: 'memory' }));
  const reader = connect(url, { upcasters });
  return { writer, reader: async () => reader, close: async () => (await reader.close(), await writer.close()) };
});

it('connect refuses upcasters that are not an object of functions', () => {
  assert.throws(
    () => connect('http://127.0.0.1:2113', { upcasters: [] as never }),
    (error: unknown) =>
      error instanceof InvalidArgumentError && /^upcasters is a list of 0 items; allowed: an object of functions/.test(error.message),
  );
});
