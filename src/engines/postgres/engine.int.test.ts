import { describe } from 'node:test';
import { describeConformance } from '../../store/conformance/suite.js';
import { openTestPostgresStore, postgresSkipReason } from './testing/test-database.js';

const skip = await postgresSkipReason();

describe('postgres engine', { skip }, () => {
  describeConformance('postgres', openTestPostgresStore);
});
