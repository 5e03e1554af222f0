import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { describeConformance } from '../../store/conformance/suite.js';
import { openEventStore } from '../open.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

describeConformance('sqlite', () => openEventStore({ engine: 'sqlite', path: join(dir, `store-${++count}.db`) }));
