/**
 * Draws the app's icons (the favicon's picture: a rounded indigo square with a white
 * mountain) as PNGs for the web app manifest, so the app can be installed:
 *
 *   npm run make-icons    # writes public/icons/*.png (committed; rerun after a change)
 *
 * "any" icons keep transparent corners; the maskable one fills the whole square and keeps the
 * picture inside the central 80 % circle that every mask shape leaves visible.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encode } from 'fast-png';

const OUT_DIR = path.resolve(import.meta.dirname, '../public/icons');
const INDIGO = [0x4f, 0x46, 0xe5] as const;
const WHITE = [0xff, 0xff, 0xff] as const;
/** Samples per pixel along each axis: 4×4 supersampling smooths the edges. */
const SS = 4;

/**
 * The favicon's mountain (`M4 11 l3-4 2 3 1.5-2 L13 11 z` in a 16×16 box), centred and
 * enlarged by 1.3 for the bigger canvas.
 */
const MOUNTAIN: ReadonlyArray<readonly [number, number]> = (
  [
    [4, 11],
    [7, 7],
    [9, 10],
    [10.5, 8],
    [13, 11],
  ] as const
).map(([x, y]) => [8 + (x - 8.5) * 1.3, 8 + (y - 9) * 1.3] as const);

function insidePolygon(x: number, y: number, poly: ReadonlyArray<readonly [number, number]>) {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i] as readonly [number, number];
    const [xj, yj] = poly[j] as readonly [number, number];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function insideRoundedSquare(x: number, y: number, size: number, radius: number) {
  const cx = Math.min(Math.max(x, radius), size - radius);
  const cy = Math.min(Math.max(y, radius), size - radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
}

/**
 * One icon of `size` pixels. The picture lives in a 16-unit box; `maskable` fills the
 * background edge to edge and shrinks the picture into the safe zone.
 */
function drawIcon(size: number, maskable: boolean): Uint8Array {
  const data = new Uint8Array(size * size * 4);
  // Picture box in icon units: the whole icon, or its centre for the maskable safe zone.
  const box = maskable ? size * 0.8 : size;
  const offset = (size - box) / 2;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0;
      let fg = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const x = px + (sx + 0.5) / SS;
          const y = py + (sy + 0.5) / SS;
          const inBg = maskable || insideRoundedSquare(x, y, size, (3 / 16) * size);
          if (!inBg) continue;
          bg++;
          const ux = ((x - offset) / box) * 16;
          const uy = ((y - offset) / box) * 16;
          if (insidePolygon(ux, uy, MOUNTAIN)) fg++;
        }
      }
      const n = SS * SS;
      const i = (py * size + px) * 4;
      const f = bg === 0 ? 0 : fg / bg;
      for (let c = 0; c < 3; c++) {
        data[i + c] = Math.round((INDIGO[c] as number) * (1 - f) + (WHITE[c] as number) * f);
      }
      data[i + 3] = Math.round((bg / n) * 255);
    }
  }
  return data;
}

const ICONS = [
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  { file: 'icon-maskable-512.png', size: 512, maskable: true },
  { file: 'apple-touch-icon-180.png', size: 180, maskable: true },
];

mkdirSync(OUT_DIR, { recursive: true });
for (const { file, size, maskable } of ICONS) {
  const png = encode({ width: size, height: size, data: drawIcon(size, maskable), channels: 4 });
  writeFileSync(path.join(OUT_DIR, file), png);
  console.log(`${path.relative(process.cwd(), path.join(OUT_DIR, file))}: ${png.byteLength} bytes`);
}
