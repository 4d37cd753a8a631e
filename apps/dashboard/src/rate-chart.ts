// The pages-per-second chart: settled pages per second of server time, from
// the crawl's first second to its last (or now, while it runs), as stacked
// bars on a canvas (stored pages, then failed and skipped ones). A long crawl
// folds several seconds into one bar, so the whole crawl always fits.
import { formatDuration } from '@crawlstream/client';
import type { RateBucket } from './crawl-model.js';

const COLORS = { stored: '#2f6fde', other: '#d9822b', grid: '#e3e6eb', text: '#5b6472' };
/** Narrowest bar, in CSS pixels. */
const MIN_BAR_PX = 5;
/** Bar slots at least: a short crawl is a few narrow bars on a one-minute axis, not a few wide blocks. */
const MIN_SLOTS = 60;
const PAD = { left: 34, right: 8, top: 10, bottom: 18 };

export interface ChartRange {
  /** First and last second (epoch seconds, server time) to show. */
  from: number;
  to: number;
}

/** The smallest of 1, 2, 5 × 10^n at or above `value`. */
function niceCeiling(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

export function drawRateChart(canvas: HTMLCanvasElement, rate: ReadonlyMap<number, RateBucket>, range: ChartRange | undefined): void {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = COLORS.text;

  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = height - PAD.top - PAD.bottom;
  if (!range || rate.size === 0) {
    ctx.textAlign = 'center';
    ctx.fillText('waiting for pages…', PAD.left + plotWidth / 2, PAD.top + plotHeight / 2);
    return;
  }

  const span = Math.max(1, range.to - range.from + 1);
  const maxBars = Math.max(1, Math.floor(plotWidth / MIN_BAR_PX));
  const secondsPerBar = Math.ceil(span / maxBars);
  const bars = Math.ceil(span / secondsPerBar);
  const slots = Math.min(maxBars, Math.max(bars, MIN_SLOTS));
  const values: { stored: number; other: number }[] = [];
  for (let bar = 0; bar < bars; bar++) {
    let stored = 0;
    let other = 0;
    for (let s = 0; s < secondsPerBar; s++) {
      const bucket = rate.get(range.from + bar * secondsPerBar + s);
      if (bucket) {
        stored += bucket.stored;
        other += bucket.other;
      }
    }
    values.push({ stored: stored / secondsPerBar, other: other / secondsPerBar });
  }
  const top = niceCeiling(Math.max(...values.map((v) => v.stored + v.other)));

  // Grid and y labels.
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const fraction of [0, 0.5, 1]) {
    const y = Math.round(PAD.top + plotHeight * (1 - fraction)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(PAD.left, y);
    ctx.lineTo(PAD.left + plotWidth, y);
    ctx.stroke();
    const label = top * fraction;
    ctx.fillText(Number.isInteger(label) ? String(label) : label.toFixed(1), PAD.left - 4, y);
  }

  // Bars: stored at the bottom, failed and skipped on top.
  const slot = plotWidth / slots;
  const barWidth = Math.max(1, slot - (slot > 3 ? 1 : 0));
  values.forEach((value, i) => {
    const x = PAD.left + i * slot;
    const storedHeight = (value.stored / top) * plotHeight;
    const otherHeight = (value.other / top) * plotHeight;
    ctx.fillStyle = COLORS.stored;
    ctx.fillRect(x, PAD.top + plotHeight - storedHeight, barWidth, storedHeight);
    ctx.fillStyle = COLORS.other;
    ctx.fillRect(x, PAD.top + plotHeight - storedHeight - otherHeight, barWidth, otherHeight);
  });

  // Time axis: from the crawl's start to the end of the last slot.
  ctx.fillStyle = COLORS.text;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.fillText('0:00', PAD.left, height - 4);
  ctx.textAlign = 'right';
  const per = secondsPerBar > 1 ? ` (${secondsPerBar} s per bar)` : '';
  ctx.fillText(`${formatDuration(slots * secondsPerBar * 1000)}${per}`, PAD.left + plotWidth, height - 4);
}
