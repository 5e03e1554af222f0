/**
 * Randomised tests are reproducible: each draws its cases from one seed, taken from `ANNALS_SEED` when set
 * and made fresh otherwise, and a failure names the seed and the command that replays it.
 */
import { fileURLToPath } from 'node:url';

export const seedOf = (env: NodeJS.ProcessEnv = process.env): number => {
  const given = env.ANNALS_SEED;
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 31) * (Math.random() < 0.5 ? -1 : 1);
  if (!/^-?\d{1,10}$/.test(given)) throw new Error(`ANNALS_SEED is '${given}'; allowed: an integer`);
  return Number(given);
};

/**
 * Runs `test` with the seed; if it fails, adds the seed and the command that replays it to the error.
 * `file` is the test's `import.meta.url`.
 */
export const withSeed = async <T>(file: string, test: (seed: number) => Promise<T> | T): Promise<T> => {
  const seed = seedOf();
  try {
    return await test(seed);
  } catch (error) {
    const replay = `seed ${seed}: replay with ANNALS_SEED=${seed} node --import tsx --test ${fileURLToPath(file)}`;
    if (error instanceof Error) error.message = `${error.message}\n${replay}`;
    else console.error(replay);
    throw error;
  }
};

/** A small seeded generator of numbers in [0, 1) (mulberry32): the same sequence for the same seed. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
