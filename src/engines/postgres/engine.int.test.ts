import { describe } from 'node:test';
import { describeGroupProperties } from '../../bus/groups/conformance/properties.js';
import { describeGroupConformance } from '../../bus/groups/conformance/suite.js';
import { describeCommandConformance } from '../../command/conformance/suite.js';
import { describeSnapshotConformance } from '../../command/snapshots/conformance/suite.js';
import { describeProjectionRegistryConformance } from '../../projection/registry/conformance/suite.js';
import { describeConformance } from '../../store/conformance/suite.js';
import { describeUpcasting } from '../../store/conformance/upcasting.js';
import { openEventStore } from '../open.js';
import {
  dropSchema,
  freshSchema,
  openTestPostgresStore,
  postgresSkipReason,
  postgresTestUrl,
  reopenTestPostgresStore,
} from './testing/test-database.js';

const skip = await postgresSkipReason();
const groupStores = { open: () => openTestPostgresStore(), reopen: reopenTestPostgresStore };

describe('postgres engine', { skip }, () => {
  describeConformance('postgres', () => openTestPostgresStore());
  describeGroupConformance('postgres', groupStores);
  describeGroupProperties('postgres', groupStores);
  describeCommandConformance('postgres', () => openTestPostgresStore());
  describeSnapshotConformance('postgres', () => openTestPostgresStore());
  describeProjectionRegistryConformance('postgres', () => openTestPostgresStore());
  describeUpcasting('postgres, a second store on the same schema', async (upcasters) => {
    const schema = freshSchema();
    const writer = await openEventStore({ engine: 'postgres', url: postgresTestUrl(), schema });
    const reader = await openEventStore({ engine: 'postgres', url: postgresTestUrl(), schema, upcasters });
    return {
      writer,
      reader: async () => reader,
      close: async () => {
        await Promise.all([writer.close(), reader.close()]);
        await dropSchema(schema);
      },
    };
  });
});
