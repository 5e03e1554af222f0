import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openEventStore } from '../engines/open.js';
import { describeCommandConformance } from './conformance/suite.js';
import { describeSnapshotConformance } from './snapshots/conformance/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-commands-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

describeCommandConformance('memory', () => openEventStore({ engine: 'memory' }));
describeCommandConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `commands-${++count}.db`) }));
describeSnapshotConformance('memory', () => openEventStore({ engine: 'memory' }));
describeSnapshotConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `snapshots-${++count}.db`) }));
