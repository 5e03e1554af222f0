/**
 * The rates of `/stats`: events appended and read per second over about the last minute, from the
 * Prometheus counters, sampled every few seconds so that a caller polling once needs no second poll and
 * no arithmetic of its own (the dashboard, `curl`). A minute of samples is kept, no more.
 */
export interface Counts {
  appendedEvents: number;
  readEvents: number;
}

export interface Rates {
  appendedEventsPerSecond: number;
  readEventsPerSecond: number;
  /** The seconds the rates are averaged over: up to a minute, less just after the server started. */
  windowSeconds: number;
}

export interface RateMeter {
  /** Notes the counts now: called every few seconds, and once at the start. */
  sample(): Promise<void>;
  rates(): Promise<Rates>;
}

interface Sample extends Counts {
  at: number;
}

export const createRateMeter = (counts: () => Promise<Counts>, { windowMs = 60_000, now = () => performance.now() } = {}): RateMeter => {
  const samples: Sample[] = [];
  return {
    async sample() {
      const sample = { ...(await counts()), at: now() };
      samples.push(sample);
      // Keep the oldest sample at least a window old, so the rates span a whole window once one has passed.
      while (samples.length > 2 && sample.at - samples[1]!.at >= windowMs) samples.shift();
    },
    async rates() {
      const current = { ...(await counts()), at: now() };
      const oldest = samples[0] ?? current;
      const seconds = (current.at - oldest.at) / 1000;
      const perSecond = (delta: number) => (seconds > 0 ? delta / seconds : 0);
      return {
        appendedEventsPerSecond: perSecond(current.appendedEvents - oldest.appendedEvents),
        readEventsPerSecond: perSecond(current.readEvents - oldest.readEvents),
        windowSeconds: seconds,
      };
    },
  };
};
