/**
 * NumPy's float64 arithmetic for the few functions diffusers builds its timestep tables with. The tables decide
 * which integer timestep a step lands on, so "nearly the same" formula is not enough: 48 trailing steps give 936 in
 * NumPy and 937 with the textbook formula. Each function follows NumPy's own algorithm, operation by operation.
 */

/**
 * `np.arange(start, stop, step)` for floats: the length is ⌈(stop − start)/step⌉, the first two values are `start`
 * and `start + step`, and every later value is `start + i·delta` with `delta` recomputed as their difference (NumPy's
 * `DOUBLE_fill`), which is not always `step`.
 */
export function numpyArange(start: number, stop: number, step: number): number[] {
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`arange needs a finite, non-zero step, got ${step}`);
  const length = Math.ceil((stop - start) / step);
  if (!(length > 0)) return [];
  const values = [start];
  if (length === 1) return values;
  const second = start + step;
  values.push(second);
  const delta = second - start;
  for (let i = 2; i < length; i++) values.push(start + i * delta);
  return values;
}

/**
 * `np.linspace(start, stop, num, endpoint)`: `i·step + start` with `step = (stop − start)/div`, and the last value
 * set to `stop` exactly when the endpoint is included.
 */
export function numpyLinspace(start: number, stop: number, num: number, endpoint = true): number[] {
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`linspace needs a whole, non-negative count, got ${num}`);
  const div = endpoint ? num - 1 : num;
  const delta = stop - start;
  const values: number[] = [];
  if (div > 0) {
    const step = delta / div;
    // NumPy divides first and multiplies after when the step underflows to zero (gh-5437).
    for (let i = 0; i < num; i++) values.push(step === 0 ? (i / div) * delta + start : i * step + start);
  } else {
    for (let i = 0; i < num; i++) values.push(i * delta + start);
  }
  if (endpoint && num > 1) values[num - 1] = stop;
  return values;
}

/** `np.round` / `np.rint`: to the nearest integer, halves to the even neighbour (812.5 → 812, 937.5 → 938). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * `np.interp(x, arange(len(table)), table)`: linear interpolation at a position in table indices, clamped to the
 * ends, with NumPy's order of operations (slope·(x − x_j) + y_j) and its exact hit at a grid point.
 */
export function numpyInterp(table: ArrayLike<number>, position: number): number {
  const last = table.length - 1;
  if (position <= 0) return table[0];
  if (position >= last) return table[last];
  const low = Math.floor(position);
  if (low === position) return table[low];
  const slope = table[low + 1] - table[low];
  return slope * (position - low) + table[low];
}
