/** JSON bodies over HTTP: bounded nesting, numbers kept exactly or refused, UTF-8 or refused; never a 500. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { maxJsonDepth } from '../store/limits.js';
import { httpCall } from './testing/http.js';
import { serveForSuite } from './testing/serve.js';

const appendBody = (data: string) => `{"events":[{"type":"A","data":${data}}]}`;

describe('JSON bodies', () => {
  const suite = serveForSuite();

  const refused = async (body: string | Buffer, detail: string) => {
    const response = await request(`${suite.url}/streams/json-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await response.body.text();
    assert.equal(response.statusCode, 400, text);
    assert.equal(JSON.parse(text).code, 'invalid_argument');
    assert.equal(JSON.parse(text).detail, detail);
  };

  it('refuses 2,000 nested arrays in 4 KB with a 400 naming the field, not a stack overflow', async () => {
    const deep = `${'['.repeat(2000)}${']'.repeat(2000)}`;
    await refused(appendBody(deep), `body.events[0].data nests more than ${maxJsonDepth} levels of objects and arrays`);
    await refused(
      `{"events":[{"type":"A","data":1,"metadata":{"a":${deep}}}]}`,
      `body.events[0].metadata nests more than ${maxJsonDepth} levels of objects and arrays`,
    );
  });

  it(`takes ${maxJsonDepth} levels of nesting in data`, async () => {
    const answer = await httpCall(suite.url, 'POST', '/streams/json-2', {
      body: appendBody(`${'['.repeat(maxJsonDepth)}${']'.repeat(maxJsonDepth)}`),
    });
    assert.equal(answer.status, 200, answer.text);
  });

  it('refuses numbers a double would change, naming the field and what was sent', async () => {
    const cases: [data: string, path: string, literal: string][] = [
      ['{"amount":9007199254740993}', 'body.events[0].data.amount', '9007199254740993'],
      ['{"a":[1,2,{"b":-9007199254740992}]}', 'body.events[0].data.a[2].b', '-9007199254740992'],
      ['[0.1000000000000000000001]', 'body.events[0].data[0]', '0.1000000000000000000001'],
      ['{"x":1e400}', 'body.events[0].data.x', '1e400'],
      ['{"x":1e-400}', 'body.events[0].data.x', '1e-400'],
      ['{"k\\"ey":{"n":12345678901234567890}}', 'body.events[0].data.k"ey.n', '12345678901234567890'],
    ];
    for (const [data, path, literal] of cases) {
      await refused(appendBody(data), `${path} is ${literal}, which is not exactly representable; send it as a string`);
    }
    await refused(
      '{"expectedRevision":99999999999999999999,"events":[{"type":"A","data":1}]}',
      'body.expectedRevision is 99999999999999999999, which is not exactly representable; send it as a string',
    );
  });

  it('keeps numbers that a double holds exactly (-0 is 0 in JSON), and digits inside strings', async () => {
    const data =
      '{"a":1.0,"b":1e2,"c":0.1,"d":-0,"e":1.5e300,"f":9007199254740991,"g":-9007199254740991,"h":0.30000000000000004,"s":"9007199254740993"}';
    const answer = await httpCall(suite.url, 'POST', '/streams/json-3', { body: appendBody(data) });
    assert.equal(answer.status, 200, answer.text);
    const [event] = await suite.store.readStream('json-3');
    assert.deepEqual(event!.data, {
      a: 1,
      b: 100,
      c: 0.1,
      d: 0,
      e: 1.5e300,
      f: 9007199254740991,
      g: -9007199254740991,
      h: 0.30000000000000004,
      s: '9007199254740993',
    });
  });

  it('refuses invalid UTF-8 instead of storing U+FFFD, and keeps valid UTF-8', async () => {
    const valid = Buffer.from(appendBody('"café ✓ 𝄞"'));
    const invalid = Buffer.concat([Buffer.from('{"events":[{"type":"A","data":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}')]);
    await refused(invalid, 'body is not valid UTF-8');
    const response = await request(`${suite.url}/streams/json-4`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: valid,
    });
    assert.equal(response.statusCode, 200, await response.body.text());
    assert.equal((await suite.store.readStream('json-4'))[0]!.data, 'café ✓ 𝄞');
  });

  it('still refuses malformed JSON and prototype poisoning with a 400', async () => {
    const malformed = [
      '{"events": [',
      '',
      '[-]',
      '[1.2.3]',
      ']]]]',
      '{"\\q": 12345678901234567890}',
      '{"events":[{"type":"A","data":{"__proto__":{"x":1}}}]}',
    ];
    for (const body of malformed) {
      const answer = await httpCall(suite.url, 'POST', '/streams/json-5', { body, headers: { 'content-type': 'application/json' } });
      assert.equal(answer.status, 400, `${body}: ${answer.text}`);
      assert.equal(answer.json().code, 'invalid_argument');
    }
  });
});
