import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GaussianNoise } from '../pipeline/random';
import { noiseCommand } from './noise-command';

interface FixtureCase {
  seed: number;
  draws: { shape: number[]; values: number[]; indices?: number[] }[];
}

const fixture = JSON.parse(
  readFileSync(
    new URL('../pipeline/noise/fixtures/torch-randn-avx2.json', import.meta.url),
    'utf8',
  ),
) as { cases: FixtureCase[] };

function draws(text: string): number[][] {
  return (JSON.parse(text) as { draws: number[][] }).draws;
}

describe('cli noise', () => {
  it("prints torch.randn's consecutive draws for a seed, within 1e-6 (PyTorch fixture)", () => {
    for (const c of fixture.cases) {
      const shape = c.draws[0]!.shape;
      if (!c.draws.every((d) => d.shape.join() === shape.join())) continue;
      const printed = draws(
        noiseCommand([
          '--seed',
          String(c.seed),
          '--shape',
          shape.join(','),
          '--draws',
          String(c.draws.length),
        ]),
      );
      expect(printed).toHaveLength(c.draws.length);
      c.draws.forEach((d, k) => {
        const indices = d.indices ?? d.values.map((_, i) => i);
        expect(printed[k]).toHaveLength(shape.reduce((a, b) => a * b, 1));
        indices.forEach((index, j) => {
          expect(Math.abs(printed[k]![index]! - d.values[j]!)).toBeLessThanOrEqual(1e-6);
        });
      });
    }
  });

  it('--noise mulberry32 prints the first generator draws', () => {
    const printed = draws(noiseCommand(['--seed', '7', '--shape', '2,5', '--noise', 'mulberry32']));
    expect(printed).toEqual([Array.from(new GaussianNoise(7).sample(10))]);
  });

  it('rejects bad arguments', () => {
    for (const args of [
      ['--shape', '4'],
      ['--seed', '1'],
      ['--seed=-1', '--shape', '4'],
      ['--seed', '4294967296', '--shape', '4'],
      ['--seed', '1', '--shape', '4,0'],
      ['--seed', '1', '--shape', '4', '--draws', '0'],
      ['--seed', '1', '--shape', '4', '--noise', 'philox'],
      ['--seed', '1', '--shape', '1,4,1024,1024'],
    ]) {
      expect(() => noiseCommand(args), args.join(' ')).toThrow(RangeError);
    }
  });

  it('runs as `cli noise` and prints one JSON line', () => {
    const out = execFileSync(
      'npx',
      ['tsx', 'src/cli/main.ts', 'noise', '--seed', '42', '--shape', '3', '--draws', '2'],
      { cwd: path.resolve(import.meta.dirname, '../..'), encoding: 'utf8' },
    );
    // torch.manual_seed(42); torch.randn(3), torch.randn(3): the fixture's first case.
    const [first, second] = fixture.cases[0]!.draws;
    expect(draws(out)).toEqual([first!.values, second!.values].map((v) => v.map(Math.fround)));
  });
});
