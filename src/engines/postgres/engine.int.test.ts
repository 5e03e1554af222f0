import { describe } from 'node:test';
import { describeGroupProperties } from '../../bus/groups/conformance/properties.js';
import { describeGroupConformance } from '../../bus/groups/conformance/suite.js';
import { describeCommandConformance } from '../../command/conformance/suite.js';
import { describeSnapshotConformance } from '../../command/snapshots/conformance/suite.js';
import { describeConformance } from '../../store/conformance/suite.js';
import { openTestPostgresStore, postgresSkipReason, reopenTestPostgresStore } from './testing/test-database.js';

const skip = await postgresSkipReason();
const groupStores = { open: () => openTestPostgresStore(), reopen: reopenTestPostgresStore };

describe('postgres engine', { skip }, () => {
  describeConformance('postgres', () => openTestPostgresStore());
  describeGroupConformance('postgres', groupStores);
  describeGroupProperties('postgres', groupStores);
  describeCommandConformance('postgres', () => openTestPostgresStore());
  describeSnapshotConformance('postgres', () => openTestPostgresStore());
});
