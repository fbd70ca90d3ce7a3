import { createRgbImage, type RgbImage } from '../core/rgb-image.js';

/** Where each picture of a grid sits: two columns from two pictures on (2×1, 2×2), as Midjourney lays out four. */
export interface GridLayout {
  readonly columns: number;
  readonly rows: number;
}

export function gridLayout(count: number): GridLayout {
  const columns = count === 1 ? 1 : 2;
  return { columns, rows: Math.ceil(count / columns) };
}

/** The cell of picture `index` (0-based) in a grid of `count` pictures of `width`×`height`. */
export function gridCell(count: number, index: number, width: number, height: number): { left: number; top: number; width: number; height: number } {
  const { columns } = gridLayout(count);
  return { left: (index % columns) * width, top: Math.floor(index / columns) * height, width, height };
}

/** Dark grey where a grid of three has no fourth picture. */
const EMPTY_CELL = 32;

/** Pictures of one size side by side, row by row, without gaps, so that each can be cut out again exactly. */
export function composeGrid(pictures: readonly RgbImage[]): RgbImage {
  const [first] = pictures;
  if (pictures.length === 1) return first;
  const { columns, rows } = gridLayout(pictures.length);
  const { width, height } = first;
  const grid = createRgbImage(columns * width, rows * height);
  grid.data.fill(EMPTY_CELL);
  pictures.forEach((picture, index) => {
    if (picture.width !== width || picture.height !== height) throw new RangeError('the pictures of a grid must share one size');
    const cell = gridCell(pictures.length, index, width, height);
    for (let y = 0; y < height; y++) {
      const from = y * width * 3;
      grid.data.set(picture.data.subarray(from, from + width * 3), ((cell.top + y) * grid.width + cell.left) * 3);
    }
  });
  return grid;
}

/** Picture `index` cut out of a grid of `count` (the inverse of composeGrid). */
export function cutFromGrid(grid: RgbImage, count: number, index: number): RgbImage {
  const { columns, rows } = gridLayout(count);
  const [width, height] = [grid.width / columns, grid.height / rows];
  if (!Number.isInteger(width) || !Number.isInteger(height) || index < 0 || index >= count) throw new RangeError(`no picture ${index + 1} in a grid of ${count}`);
  const cell = gridCell(count, index, width, height);
  const picture = createRgbImage(width, height);
  for (let y = 0; y < height; y++) {
    const from = ((cell.top + y) * grid.width + cell.left) * 3;
    picture.data.set(grid.data.subarray(from, from + width * 3), y * width * 3);
  }
  return picture;
}
