import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openEventStore } from '../../engines/open.js';
import { describeProjectionRegistryConformance } from './conformance/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

describeProjectionRegistryConformance('memory', () => openEventStore({ engine: 'memory' }));
describeProjectionRegistryConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `registry-${++count}.db`) }));
