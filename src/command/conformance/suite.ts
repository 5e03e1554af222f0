/**
 * The command contract (DESIGN.md section 8), run on every engine and through the client on each: a bank
 * account decider, commands that write, refuse, retry on conflicts, and answer again with their original
 * outcome when sent twice.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { rejectsWith, storeTest } from '../../store/conformance/harness.js';
import { CommandRejectedError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { aggregateStream } from '../aggregate.js';
import type { Decider } from '../decider.js';
import { handleCommand } from '../handle-command.js';
import { createStateCache } from '../state-cache.js';

type AccountEvent =
  | { type: 'Opened'; data: { owner: string } }
  | { type: 'Deposited'; data: { amount: number } }
  | { type: 'Withdrawn'; data: { amount: number } };
type AccountCommand =
  { kind: 'open'; owner: string } | { kind: 'deposit'; amount: number } | { kind: 'withdraw'; amount: number } | { kind: 'nothing' };
interface Account {
  open: boolean;
  balance: number;
}

export const account: Decider<Account, AccountCommand, AccountEvent> = {
  initialState: () => ({ open: false, balance: 0 }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'Opened':
        return { ...state, open: true };
      case 'Deposited':
        return { ...state, balance: state.balance + event.data.amount };
      case 'Withdrawn':
        return { ...state, balance: state.balance - event.data.amount };
    }
  },
  decide: (command, state) => {
    if (command.kind === 'nothing') return [];
    if (command.kind === 'open') {
      if (state.open) throw new CommandRejectedError('the account is open already');
      return { type: 'Opened', data: { owner: command.owner } };
    }
    if (!state.open) throw new CommandRejectedError('the account is not open');
    if (command.kind === 'deposit') return { type: 'Deposited', data: { amount: command.amount } };
    if (command.amount > state.balance) throw new CommandRejectedError(`the balance is ${state.balance}, less than ${command.amount}`);
    return { type: 'Withdrawn', data: { amount: command.amount } };
  },
};

export const describeCommandConformance = (name: string, open: () => Promise<EventStore>): void => {
  const test = storeTest(open);

  describe(`command conformance: ${name}`, () => {
    test('decides, appends with the exact revision, and answers with the events and the state', async (store) => {
      const opened = await handleCommand(store, 'account-1', { kind: 'open', owner: 'ada' }, account);
      assert.equal(opened.revision, 0);
      assert.equal(opened.replayed, false);
      assert.deepEqual(opened.state, { open: true, balance: 0 });
      const deposited = await handleCommand(store, 'account-1', { kind: 'deposit', amount: 30 }, account);
      assert.deepEqual(deposited.state, { open: true, balance: 30 });
      assert.deepEqual(deposited.events, (await store.readStream('account-1')).slice(1));
      assert.equal(deposited.position, deposited.events[0]!.position);
      assert.deepEqual(await aggregateStream(store, 'account-1', account), { state: { open: true, balance: 30 }, revision: 1 });
    });

    test('a refusal is a CommandRejectedError with its reason, and writes nothing', async (store) => {
      const error = await rejectsWith(handleCommand(store, 'account-2', { kind: 'withdraw', amount: 5 }, account), 'command_rejected');
      assert.ok(error instanceof CommandRejectedError);
      assert.equal(error.reason, 'the account is not open');
      assert.deepEqual(await store.readStream('account-2'), []);
    });

    test('a command that decides nothing writes nothing', async (store) => {
      await handleCommand(store, 'account-3', { kind: 'open', owner: 'bo' }, account);
      const result = await handleCommand(store, 'account-3', { kind: 'nothing' }, account);
      assert.deepEqual(
        { events: result.events, revision: result.revision, position: result.position },
        { events: [], revision: 0, position: undefined },
      );
    });

    test('carries correlation, causation and trace context, and the command id, into every event', async (store) => {
      const metadata = {
        correlationId: 'corr-1',
        causationId: 'cause-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        user: 'x',
      };
      const { events } = await handleCommand(store, 'account-4', { kind: 'open', owner: 'cy' }, account, { commandId: 'cmd-1', metadata });
      assert.deepEqual(events[0]!.metadata, {
        correlationId: 'corr-1',
        causationId: 'cause-1',
        traceparent: metadata.traceparent,
        commandId: 'cmd-1',
      });
    });

    test('a command sent again with its id answers with its original outcome and appends nothing, also after other commands', async (store) => {
      await handleCommand(store, 'account-5', { kind: 'open', owner: 'di' }, account);
      const first = await handleCommand(store, 'account-5', { kind: 'deposit', amount: 10 }, account, { commandId: 'pay-1' });
      const again = await handleCommand(store, 'account-5', { kind: 'deposit', amount: 10 }, account, { commandId: 'pay-1' });
      assert.equal(again.replayed, true);
      assert.deepEqual(
        { events: again.events, revision: again.revision, position: again.position },
        { events: first.events, revision: 1, position: first.position },
      );
      await handleCommand(store, 'account-5', { kind: 'deposit', amount: 5 }, account, { commandId: 'pay-2' });
      const late = await handleCommand(store, 'account-5', { kind: 'deposit', amount: 10 }, account, { commandId: 'pay-1' });
      assert.equal(late.replayed, true);
      assert.deepEqual(late.state, { open: true, balance: 10 }, 'the state as the command left it');
      assert.equal((await store.readStream('account-5')).length, 3);
      // The same command id on another stream is another command.
      await handleCommand(store, 'account-6', { kind: 'open', owner: 'ed' }, account, { commandId: 'pay-1' });
      assert.equal((await store.readStream('account-6')).length, 1);
    });

    test('16 concurrent commands on one stream all succeed through retries, and no update is lost', async (store) => {
      await handleCommand(store, 'account-7', { kind: 'open', owner: 'fay' }, account);
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, index) =>
          handleCommand(store, 'account-7', { kind: 'deposit', amount: index + 1 }, account, { maxAttempts: 200 }),
        ),
      );
      assert.equal(new Set(results.map((result) => result.revision)).size, 16);
      assert.deepEqual(await aggregateStream(store, 'account-7', account), { state: { open: true, balance: 136 }, revision: 16 });
    });

    test('concurrent commands that run out of attempts fail with the conflict, and write nothing of theirs', async (store) => {
      await handleCommand(store, 'account-8', { kind: 'open', owner: 'gus' }, account);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, () => handleCommand(store, 'account-8', { kind: 'deposit', amount: 1 }, account, { maxAttempts: 1 })),
      );
      const succeeded = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assert.equal((outcome.reason as { code?: string }).code, 'wrong_expected_revision');
      }
      assert.deepEqual((await aggregateStream(store, 'account-8', account)).state.balance, succeeded);
    });

    test('refuses to fold a history whose start the metadata hides', async (store) => {
      await handleCommand(store, 'account-9', { kind: 'open', owner: 'hal' }, account);
      await handleCommand(store, 'account-9', { kind: 'deposit', amount: 1 }, account);
      await store.setMetadata('account-9', { maxCount: 1 });
      const error = await rejectsWith(aggregateStream(store, 'account-9', account), 'conflict');
      assert.match(error.message, /history truncated/);
    });

    test('a stream written again after a soft delete starts a new history', async (store) => {
      await handleCommand(store, 'account-10', { kind: 'open', owner: 'ivy' }, account);
      await store.deleteStream('account-10');
      const reopened = await handleCommand(store, 'account-10', { kind: 'open', owner: 'ivy' }, account);
      assert.equal(reopened.revision, 1);
      assert.deepEqual(await aggregateStream(store, 'account-10', account), { state: { open: true, balance: 0 }, revision: 1 });
    });

    test('keeps a snapshot every N events and loads from it', async (store) => {
      const snapshotting = { ...account, snapshot: { every: 3, schemaVersion: 1 } };
      await handleCommand(store, 'account-12', { kind: 'open', owner: 'jo' }, snapshotting);
      for (let amount = 1; amount <= 6; amount++) await handleCommand(store, 'account-12', { kind: 'deposit', amount }, snapshotting);
      const snapshot = await store.snapshots.read('account-12', { schemaVersion: 1 });
      assert.deepEqual({ revision: snapshot?.revision, state: snapshot?.state }, { revision: 5, state: { open: true, balance: 15 } });
      // Loading starts from the snapshot: a state planted there shows through (what a real snapshot saves).
      await store.snapshots.write('account-12', { revision: 5, schemaVersion: 1, state: { open: true, balance: 1000 } });
      assert.deepEqual(await aggregateStream(store, 'account-12', snapshotting), { state: { open: true, balance: 1006 }, revision: 6 });
      // A snapshot of another shape is ignored, and deleting them changes nothing but speed.
      assert.deepEqual(await aggregateStream(store, 'account-12', { ...account, snapshot: { every: 3, schemaVersion: 2 } }), {
        state: { open: true, balance: 21 },
        revision: 6,
      });
      await store.snapshots.delete('account-12');
      assert.deepEqual(await aggregateStream(store, 'account-12', snapshotting), { state: { open: true, balance: 21 }, revision: 6 });
    });

    test('a snapshot that cannot be written never fails the command', async (store) => {
      type Odd = { open: boolean; balance: number; seen: Date };
      const odd: Decider<Odd, AccountCommand, AccountEvent> = {
        initialState: () => ({ ...account.initialState(), seen: new Date(0) }),
        evolve: (state, event) => ({ ...state, ...account.evolve(state, event) }),
        decide: (command, state) => account.decide(command, state),
        snapshot: { every: 1, schemaVersion: 1 },
      };
      const result = await handleCommand(store, 'account-13', { kind: 'open', owner: 'kim' }, odd);
      assert.equal(result.revision, 0);
      assert.equal(await store.snapshots.read('account-13'), undefined, 'a Date is not JSON: no snapshot');
    });

    test('loading from a snapshot refuses a history the metadata truncates after it', async (store) => {
      const snapshotting = { ...account, snapshot: { every: 2, schemaVersion: 1 } };
      await handleCommand(store, 'account-14', { kind: 'open', owner: 'lu' }, snapshotting);
      for (let amount = 1; amount <= 4; amount++) await handleCommand(store, 'account-14', { kind: 'deposit', amount }, snapshotting);
      assert.equal((await store.snapshots.read('account-14'))?.revision, 3);
      await store.setMetadata('account-14', { maxCount: 2 });
      assert.deepEqual(await aggregateStream(store, 'account-14', snapshotting), { state: { open: true, balance: 10 }, revision: 4 });
      await store.append('account-14', [{ type: 'Deposited', data: { amount: 5 } }]);
      await store.setMetadata('account-14', { maxCount: 1 });
      assert.match((await rejectsWith(aggregateStream(store, 'account-14', snapshotting), 'conflict')).message, /history truncated/);
      assert.match((await rejectsWith(aggregateStream(store, 'account-14', account), 'conflict')).message, /history truncated/);
    });

    test('16 concurrent commands with snapshots lose no update', async (store) => {
      const snapshotting = { ...account, snapshot: { every: 4, schemaVersion: 1 } };
      await handleCommand(store, 'account-15', { kind: 'open', owner: 'mo' }, snapshotting);
      await Promise.all(
        Array.from({ length: 16 }, (_, index) =>
          handleCommand(store, 'account-15', { kind: 'deposit', amount: index + 1 }, snapshotting, { maxAttempts: 200 }),
        ),
      );
      assert.deepEqual(await aggregateStream(store, 'account-15', snapshotting), { state: { open: true, balance: 136 }, revision: 16 });
      await store.snapshots.delete('account-15');
      assert.deepEqual(await aggregateStream(store, 'account-15', account), { state: { open: true, balance: 136 }, revision: 16 });
    });

    test('with a state cache: decides on the cached state, and a cache behind the stream never loses an update or refuses wrongly', async (store) => {
      const cache = createStateCache();
      await handleCommand(store, 'account-16', { kind: 'open', owner: 'ned' }, account, { cache });
      await handleCommand(store, 'account-16', { kind: 'deposit', amount: 10 }, account, { cache });
      // Another writer moves the stream: the cached state (balance 10) is behind.
      await store.append('account-16', [{ type: 'Deposited', data: { amount: 5 } }]);
      const withdrawn = await handleCommand(store, 'account-16', { kind: 'withdraw', amount: 15 }, account, { cache, maxAttempts: 1 });
      assert.deepEqual(withdrawn.state, { open: true, balance: 0 }, 'refused on the cached state, accepted on the loaded one');
      await store.append('account-16', [{ type: 'Deposited', data: { amount: 7 } }]);
      const deposited = await handleCommand(store, 'account-16', { kind: 'deposit', amount: 1 }, account, { cache, maxAttempts: 1 });
      assert.deepEqual(deposited.state, { open: true, balance: 8 }, 'a conflict of the cached state loads and decides again');
      await Promise.all(
        Array.from({ length: 16 }, () =>
          handleCommand(store, 'account-16', { kind: 'deposit', amount: 1 }, account, { cache, maxAttempts: 200 }),
        ),
      );
      assert.deepEqual(await aggregateStream(store, 'account-16', account), { state: { open: true, balance: 24 }, revision: 21 });
      const other = { ...account, evolve: account.evolve };
      assert.equal(cache.get(store, other, 'account-16'), undefined, 'another decider does not share the state');
    });

    test('refuses bad options by name', async (store) => {
      const error = await rejectsWith(
        handleCommand(store, 'account-11', { kind: 'nothing' }, account, { maxAttempts: 0 }),
        'invalid_argument',
      );
      assert.match(error.message, /maxAttempts/);
      await rejectsWith(handleCommand(store, 'account-11', { kind: 'nothing' }, account, { commandId: '' }), 'invalid_argument');
      const policy = await rejectsWith(
        handleCommand(store, 'account-11', { kind: 'nothing' }, { ...account, snapshot: { every: 0, schemaVersion: 1 } }),
        'invalid_argument',
      );
      assert.match(policy.message, /decider\.snapshot\.every/);
      const cache = await rejectsWith(
        handleCommand(store, 'account-11', { kind: 'nothing' }, account, { cache: {} as never }),
        'invalid_argument',
      );
      assert.match(cache.message, /cache is/);
    });
  });
};
