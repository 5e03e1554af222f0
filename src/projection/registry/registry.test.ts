import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openEventStore } from '../../engines/open.js';
import { createMemoryEngine } from '../../engines/memory/engine.js';
import { openSqliteEngine } from '../../engines/sqlite/engine.js';
import { describeProjectionRegistryConformance, describeReportForgetting } from './conformance/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

describeProjectionRegistryConformance('memory', () => openEventStore({ engine: 'memory' }));
describeProjectionRegistryConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `registry-${++count}.db`) }));

describeReportForgetting('memory', async () => {
  const engine = createMemoryEngine();
  return { engine, close: () => engine.close() };
});
describeReportForgetting('sqlite', async () => {
  const engine = openSqliteEngine({ path: join(dir, `engine-${++count}.db`), durability: 'os' });
  return { engine, close: () => engine.close() };
});
