// Draws build/icon.png (1024×1024), the one icon electron-builder turns into
// the .icns, .ico and Linux icon set. Run it again after changing the drawing:
//   node build/make-icon.mjs
// No image library: shapes are signed-distance functions, anti-aliased over
// one pixel, and the PNG is written with node:zlib.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 1024;

const clamp = (x, lo = 0, hi = 1) => Math.min(hi, Math.max(lo, x));
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);
/** Coverage of a shape from its signed distance (negative inside), 1 px of anti-aliasing. */
const cover = (d) => clamp(0.5 - d);

function roundedBox(px, py, cx, cy, hw, hh, r) {
  const qx = Math.abs(px - cx) - hw + r;
  const qy = Math.abs(py - cy) - hh + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

const circle = (px, py, cx, cy, r) => Math.hypot(px - cx, py - cy) - r;

// Palette: a deep ink-blue tile, a pale ladder, one amber rung (the active generation).
const TOP = [30, 58, 110];
const BOTTOM = [14, 26, 54];
const RAIL = [226, 236, 250];
const RUNG = [196, 214, 240];
const ACTIVE = [246, 182, 60];

const rungsY = [300, 430, 560, 690];

function pixel(x, y) {
  const px = x + 0.5;
  const py = y + 0.5;
  const tile = cover(roundedBox(px, py, 512, 512, 448, 448, 200));
  if (tile === 0) return [0, 0, 0, 0];
  let rgb = mix(TOP, BOTTOM, clamp((py - 64) / 896));

  const base = rgb;
  // Rungs under the rails; the third is the active one, in amber.
  rungsY.forEach((cy, i) => {
    const colour = i === 2 ? ACTIVE : RUNG;
    rgb = mix(rgb, colour, cover(roundedBox(px, py, 512, cy, 150, 22, 22)));
  });
  // Two rails with rounded ends.
  for (const cx of [362, 662]) {
    rgb = mix(rgb, RAIL, cover(roundedBox(px, py, cx, 495, 34, 315, 34)));
  }
  // The active rung ends in a key bow on the right rail: an amber ring with the tile showing through.
  rgb = mix(rgb, ACTIVE, cover(circle(px, py, 662, 560, 80)));
  rgb = mix(rgb, base, cover(circle(px, py, 662, 560, 38)));

  return [...rgb.map((v) => Math.round(v)), Math.round(255 * tile)];
}

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  const row = y * (SIZE * 4 + 1);
  raw[row] = 0; // filter: none
  for (let x = 0; x < SIZE; x++) {
    const [r, g, b, a] = pixel(x, y);
    raw.set([r, g, b, a], row + 1 + x * 4);
  }
}

const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace

const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);

const out = join(dirname(fileURLToPath(import.meta.url)), 'icon.png');
writeFileSync(out, png);
console.log(`wrote ${out} (${png.length} bytes)`);
