import { UserError } from '../../core/errors.js';

/** A run of prompt text and the weight its tokens' embeddings get. */
export interface WeightedText {
  readonly text: string;
  readonly weight: number;
}

/** `(text)` multiplies by this, `[text]` divides by it: AUTOMATIC1111's factors. */
export const ROUND_BRACKET_FACTOR = 1.1;

/**
 * The weights a run of text may end up with, all brackets around it multiplied: people use 0.5–2; beyond this range
 * the mean-restoring rescale drowns the rest of the prompt, and nested weights reach Infinity (then NaN latents).
 */
export const MIN_WEIGHT = 0.01;
export const MAX_WEIGHT = 10;

/**
 * The tokens of AUTOMATIC1111's attention syntax: escapes, brackets, an explicit weight closing a round bracket
 * (`:1.5)`), and runs of plain text.
 */
const EMPHASIS_TOKENS = /\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()[\]:]+|:/g;

/** A run of text being weighted; an opening bracket is one too, kept as text unless a closing one matches it. */
interface Piece {
  text: string;
  weight: number;
}

/**
 * Reads AUTOMATIC1111's emphasis: `(word)` ×1.1, `((word))` ×1.21, `(word:1.5)` ×1.5, `[word]` ÷1.1, and `\(`, `\)`,
 * `\[`, `\]`, `\\` for the characters themselves. Unlike AUTOMATIC1111, which weights everything after an unclosed
 * bracket, a bracket without its partner is plain text, and so is a weight that is not a number. A weight that ends
 * outside MIN_WEIGHT…MAX_WEIGHT (zero, negative, or nested to absurdity) is a UserError that names the text.
 * Neighbouring runs of one weight are merged; an empty prompt is one empty run.
 */
export function parseEmphasis(prompt: string): WeightedText[] {
  const pieces: Piece[] = [];
  const open: { bracket: '(' | '['; index: number }[] = [];
  const close = (bracket: '(' | '[', factor: number): boolean => {
    const at = open.findLastIndex((entry) => entry.bracket === bracket);
    if (at === -1) return false;
    // A bracket of the other kind opened inside this pair and never closed is text inside it.
    const entry = open[at];
    open.length = at;
    pieces[entry.index].text = '';
    for (let i = entry.index + 1; i < pieces.length; i++) pieces[i].weight *= factor;
    return true;
  };
  for (const match of prompt.matchAll(EMPHASIS_TOKENS)) {
    const token = match[0];
    const weightText = match.at(1);
    const explicit = weightText === undefined ? Number.NaN : Number(weightText);
    // A backslash before anything else stays (AUTOMATIC1111 drops it): `C:\path` is kept as typed.
    if (token === '\\') pieces.push({ text: token, weight: 1 });
    else if (token.startsWith('\\')) pieces.push({ text: token.slice(1), weight: 1 });
    else if (token === '(' || token === '[') {
      open.push({ bracket: token, index: pieces.length });
      pieces.push({ text: token, weight: 1 });
    } else if (weightText !== undefined && Number.isFinite(explicit) && close('(', explicit)) continue;
    else if (token === ')' && close('(', ROUND_BRACKET_FACTOR)) continue;
    else if (token === ']' && close('[', 1 / ROUND_BRACKET_FACTOR)) continue;
    else pieces.push({ text: token, weight: 1 });
  }
  const merged: WeightedText[] = [];
  for (const piece of pieces) {
    if (piece.text === '') continue;
    if (!(piece.weight >= MIN_WEIGHT && piece.weight <= MAX_WEIGHT)) {
      const shown = piece.text.trim().slice(0, 40) || piece.text.slice(0, 40);
      throw new UserError(`the emphasis on “${shown}” comes to ${shownWeight(piece.weight)}; weights from ${MIN_WEIGHT} to ${MAX_WEIGHT} are allowed, all brackets around a word multiplied`);
    }
    const last = merged.at(-1);
    if (last !== undefined && last.weight === piece.weight) merged[merged.length - 1] = { text: last.text + piece.text, weight: last.weight };
    else merged.push({ text: piece.text, weight: piece.weight });
  }
  return merged.length === 0 ? [{ text: '', weight: 1 }] : merged;
}

/** A weight as a person reads it: three figures, in exponent form when it is huge. */
function shownWeight(weight: number): string {
  if (!Number.isFinite(weight)) return String(weight);
  return Math.abs(weight) >= 1e6 ? weight.toExponential(2) : String(Number(weight.toPrecision(3)));
}
