import { InvalidArgumentError } from 'commander';
import { errorMessage } from '../core/errors.js';

/** Wraps a parser so that its UserError becomes commander's one-line "argument … is invalid" message. */
export function optionParser<T>(parse: (value: string) => T): (value: string) => T {
  return (value: string) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(errorMessage(error));
    }
  };
}

export function parseWholeNumber(value: string): number {
  if (/^\s*-\d+\s*$/.test(value)) throw new Error(`'${value}' is negative; give 0 or more`);
  if (!/^\d+$/.test(value.trim())) throw new Error(`'${value}' is not a whole number`);
  return Number(value);
}

export function parseDecimal(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new Error(`'${value}' is not a number`);
  return number;
}
