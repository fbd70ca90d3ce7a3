import type { RgbImage } from '../core/rgb-image.js';
import { decodeOwnPicture } from './decode-picture.js';
import { composeGrid, cutFromGrid } from './picture-grid.js';

/** The neutral grey of a held-back picture's place, and its label. */
const TILE_COLOUR = '#3b3d42';
const HELD_LABEL = 'Held back by the safety check';

/**
 * A neutral tile of the given size with the label written across it (librsvg draws the text with the machine's
 * fonts; on a machine without any, the tile is plain grey).
 */
export async function heldTile(width: number, height: number): Promise<RgbImage> {
  const size = Math.max(10, Math.round(width / 22));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${TILE_COLOUR}"/><text x="50%" y="50%" font-family="sans-serif" font-size="${size}" fill="#d7d9dc" text-anchor="middle" dominant-baseline="middle">🛡 ${HELD_LABEL}</text></svg>`;
  return decodeOwnPicture(Buffer.from(svg));
}

/** A grid of `count` with pictures `held` (0-based) replaced by the neutral tile. */
export async function gridWithHeldPictures(grid: RgbImage, count: number, held: readonly number[]): Promise<RgbImage> {
  const pictures = Array.from({ length: count }, (_, index) => cutFromGrid(grid, count, index));
  const tile = await heldTile(pictures[0].width, pictures[0].height);
  return composeGrid(pictures.map((picture, index) => (held.includes(index) ? tile : picture)));
}
