import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRateMeter } from './rates.js';

/** A meter over counts and a clock that the test sets by hand. */
const meterOf = () => {
  const state = { at: 0, appendedEvents: 0, readEvents: 0 };
  const meter = createRateMeter(async () => ({ appendedEvents: state.appendedEvents, readEvents: state.readEvents }), {
    windowMs: 60_000,
    now: () => state.at,
  });
  return { state, meter };
};

describe('rates of /stats', () => {
  it('are zero over no time, just after the start', async () => {
    const { meter } = meterOf();
    await meter.sample();
    assert.deepEqual(await meter.rates(), { appendedEventsPerSecond: 0, readEventsPerSecond: 0, windowSeconds: 0 });
  });

  it('average the counts since the start until a window has passed', async () => {
    const { state, meter } = meterOf();
    await meter.sample();
    Object.assign(state, { at: 10_000, appendedEvents: 500, readEvents: 2_000 });
    assert.deepEqual(await meter.rates(), { appendedEventsPerSecond: 50, readEventsPerSecond: 200, windowSeconds: 10 });
  });

  it('forget what is older than the window', async () => {
    const { state, meter } = meterOf();
    await meter.sample();
    // A burst in the first seconds, then a steady 10 appends a second for three minutes, sampled every 5 s.
    Object.assign(state, { at: 5_000, appendedEvents: 100_000 });
    for (let second = 10; second <= 180; second += 5) {
      await meter.sample();
      Object.assign(state, { at: second * 1000, appendedEvents: state.appendedEvents + 50 });
    }
    const rates = await meter.rates();
    assert.ok(rates.windowSeconds >= 60 && rates.windowSeconds <= 65, `window ${rates.windowSeconds}`);
    assert.equal(rates.appendedEventsPerSecond, 10);
  });
});
