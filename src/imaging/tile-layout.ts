/**
 * How an image is cut into tiles: each tile owns a core of the output, reads a window of input around it (the
 * core plus `margin` pixels of context per side, clamped to the image, or exactly `size` when the model is fixed),
 * and contributes to its neighbours' edges with a linear cross-fade `feather` pixels wide, so no seam shows even when
 * the model sees further than the margin. Where the model's receptive field fits inside margin − feather, tiles
 * reproduce the untiled result.
 */

export interface Span {
  /** The core this tile owns, in input pixels: [start, end). */
  readonly coreStart: number;
  readonly coreEnd: number;
  /** The input window the model runs on: [start, end). */
  readonly windowStart: number;
  readonly windowEnd: number;
}

export interface Tile {
  readonly x: Span;
  readonly y: Span;
}

export interface TileOptions {
  /** Input pixels per tile side, context included. */
  readonly size: number;
  readonly margin: number;
  readonly feather: number;
  /** The model takes exactly `size`: windows are shifted inside the image instead of clamped. */
  readonly fixed: boolean;
}

export function layoutSpans(length: number, options: TileOptions): Span[] {
  const core = Math.max(1, options.size - 2 * options.margin);
  const spans: Span[] = [];
  for (let start = 0; start < length; start += core) {
    const end = Math.min(length, start + core);
    let windowStart = Math.max(0, start - options.margin);
    let windowEnd = Math.min(length, end + options.margin);
    if (options.fixed && length >= options.size) {
      windowStart = Math.min(windowStart, length - options.size);
      windowEnd = windowStart + options.size;
    }
    spans.push({ coreStart: start, coreEnd: end, windowStart, windowEnd });
  }
  return spans;
}

export function layoutTiles(width: number, height: number, options: TileOptions): Tile[] {
  const columns = layoutSpans(width, options);
  return layoutSpans(height, options).flatMap((y) => columns.map((x) => ({ x, y })));
}

/**
 * The blending weight of a tile at an input coordinate (pixel centres, so it is fractional for output pixels):
 * 1 inside the core, ramping to 0 over `feather` pixels either side of an inner boundary, 1 at the image's edges.
 * The weights of neighbouring tiles add up to exactly 1.
 */
export function featherWeight(position: number, span: Span, length: number, feather: number): number {
  if (feather === 0) return position >= span.coreStart && position < span.coreEnd ? 1 : 0;
  const rise = span.coreStart === 0 ? 1 : clamp01((position - (span.coreStart - feather)) / (2 * feather));
  const fall = span.coreEnd === length ? 1 : clamp01((span.coreEnd + feather - position) / (2 * feather));
  return Math.min(rise, fall);
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}
