import { describe, expect, it } from 'vitest';
import { describeDeviceLoss, watchDeviceLoss } from './device-loss';

function fakeDevice() {
  let lose!: (info: { reason: string; message: string }) => void;
  const lost = new Promise<{ reason: string; message: string }>((resolve) => (lose = resolve));
  return { device: { lost }, lose };
}

describe('device loss', () => {
  it('reports a lost device once, with its reason and message', async () => {
    const { device, lose } = fakeDevice();
    const reports: string[] = [];
    watchDeviceLoss(device, (m) => reports.push(m));
    watchDeviceLoss(device, (m) => reports.push(m)); // the same device again: no second report
    expect(reports).toEqual([]);
    lose({ reason: 'destroyed', message: 'Device was destroyed.' });
    await Promise.resolve();
    await Promise.resolve();
    expect(reports).toEqual([
      'The GPU device was lost (the device was destroyed): Device was destroyed.',
    ]);
  });

  it('says so when the browser gives no reason', () => {
    expect(describeDeviceLoss({ reason: 'unknown', message: '' })).toBe(
      'The GPU device was lost (reason unknown).',
    );
  });
});
