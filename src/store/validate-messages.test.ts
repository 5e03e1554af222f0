/** The embedded store's refusals say what was given and what is allowed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from './errors.js';
import { openEventStore } from '../engines/open.js';

describe('messages of refused arguments', () => {
  it('name the argument, what was given and what is allowed', async () => {
    const store = await openEventStore({ engine: 'memory' });
    const cases: [call: () => Promise<unknown>, message: string][] = [
      [
        () => store.readStream('a-1', { direction: 'backward' as 'backwards' }),
        "direction is 'backward'; allowed: 'forwards' or 'backwards'",
      ],
      [() => store.readStream('a-1', { limit: 0 }), 'limit is 0; allowed: a positive integer'],
      [() => store.readStream('a-1', { limit: 1.5 }), 'limit is 1.5; allowed: a positive integer'],
      [() => store.readStream('a-1', { from: -1 }), "from is -1; allowed: a revision (an integer >= 0), 'start' or 'end'"],
      [() => store.readStream('a-1', { form: 1 } as object), "unknown option 'form'; allowed: from, direction, limit"],
      [() => store.readStream('a-1', 'all' as unknown as object), "options is 'all'; allowed: an object"],
      [() => store.readAll({ from: -1n }), 'from is -1; allowed: a position (an integer from 0 to 9223372036854775807)'],
      [() => store.readAll({ filter: { category: 'a-b' } }), "filter.category is 'a-b'; allowed: a category (a name without '-')"],
      [() => store.readAll({ filter: { includeSystem: 'yes' as never } }), "filter.includeSystem is 'yes'; allowed: true or false"],
      [() => store.readAll({ filter: { types: [] } }), 'filter.types is a list of 0 items; allowed: a list of 1 to 100 names'],
      [
        () => store.readAll({ filter: { kinds: ['A'] } as object }),
        "filter has unknown field 'kinds'; allowed: types, streams, category, includeSystem",
      ],
      [() => store.readAll({ filter: [] as object }), 'filter is a list of 0 items; allowed: an object'],
      [() => store.readStream('x'.repeat(300)), 'stream name is 300 UTF-8 bytes long; allowed: at most 255'],
    ];
    for (const [call, message] of cases) await assert.rejects(call, new InvalidArgumentError(message));
    await store.close();
  });
});
