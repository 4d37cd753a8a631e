import { ConfigError, loadConfig } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';
import { DEFAULT_MAX_BYTES_IN_FLIGHT } from './crawl-worker.js';

const settled = async <T>(promise: Promise<T>) => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe('ByteBudget', () => {
  it('grants reservations that fill the budget exactly, and holds the one past it', async () => {
    const budget = new ByteBudget(100);
    const first = await budget.reserve(60);
    const second = await budget.reserve(40); // 100 of 100: at the limit
    expect(budget.stats()).toMatchObject({ reserved: 100, peak: 100, waited: 0 });
    const third = budget.reserve(1); // one past
    expect(await settled(third)).toBe(false);
    expect(budget.stats()).toMatchObject({ reserved: 100, waiting: 1 });
    second();
    expect(await settled(third)).toBe(true);
    expect(budget.stats()).toMatchObject({ reserved: 61, peak: 100, waited: 1, waiting: 0 });
    first();
    (await third)();
    expect(budget.stats().reserved).toBe(0);
  });

  it('serves waiters first come first served: a small one does not overtake a big one', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.reserve(50);
    const big = budget.reserve(80);
    const small = budget.reserve(10); // would fit now, but waits behind the big one
    expect(await settled(small)).toBe(false);
    held();
    expect(await settled(big)).toBe(true);
    expect(await settled(small)).toBe(true);
    expect(budget.stats()).toMatchObject({ reserved: 90, peak: 90 });
  });

  it('clamps a reservation larger than the budget to the budget, so it still runs', async () => {
    const budget = new ByteBudget(100);
    const release = await budget.reserve(10_000);
    expect(budget.stats().reserved).toBe(100);
    release();
    release(); // releasing twice gives back once
    expect(budget.stats().reserved).toBe(0);
  });

  it('never reserves more than the budget under many concurrent pages, and runs them all', async () => {
    const budget = new ByteBudget(1000);
    let ran = 0;
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const release = await budget.reserve(100 + (i % 7) * 50);
        expect(budget.stats().reserved).toBeLessThanOrEqual(1000);
        await Promise.resolve();
        ran++;
        release();
      }),
    );
    expect(ran).toBe(50);
    expect(budget.stats()).toMatchObject({ reserved: 0, waiting: 0 });
    expect(budget.stats().peak).toBeLessThanOrEqual(1000);
  });
});

describe('WORKER_MAX_BYTES_IN_FLIGHT', () => {
  const load = (value?: string) => loadConfig({ WORKER_MAX_BYTES_IN_FLIGHT: value }).WORKER_MAX_BYTES_IN_FLIGHT;

  it('defaults to 256 MiB', () => {
    expect(load()).toBe(256 * 1024 * 1024);
    expect(load()).toBe(DEFAULT_MAX_BYTES_IN_FLIGHT);
  });

  it('takes 1 MiB to 64 GiB and names the variable and the bound past either end', () => {
    expect(load('1048576')).toBe(1_048_576);
    expect(load('68719476736')).toBe(68_719_476_736);
    expect(() => load('1048575')).toThrow(ConfigError);
    expect(() => load('1048575')).toThrow(/WORKER_MAX_BYTES_IN_FLIGHT.*>=1048576/);
    expect(() => load('68719476737')).toThrow(/WORKER_MAX_BYTES_IN_FLIGHT.*<=68719476736/);
    expect(() => load('lots')).toThrow(/WORKER_MAX_BYTES_IN_FLIGHT: must be a whole number/);
  });
});
