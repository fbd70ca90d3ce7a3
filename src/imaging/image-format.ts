import { UserError } from '../core/errors.js';

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export function parseImageFormat(value: string): ImageFormat {
  const normalized = value.toLowerCase() === 'jpg' ? 'jpeg' : value.toLowerCase();
  const format = IMAGE_FORMATS.find((candidate) => candidate === normalized);
  if (format === undefined) throw new UserError(`unknown image format '${value}': use one of ${IMAGE_FORMATS.join(', ')}`);
  return format;
}

/** The format a file name's extension asks for, if it names one. */
export function formatFromFileName(file: string): ImageFormat | undefined {
  const extension = fileNameExtension(file);
  if (extension === undefined) return undefined;
  return IMAGE_FORMATS.find((format) => format === extension || (format === 'jpeg' && extension === 'jpg'));
}

/** The extension of a file name, lower case, if it has one. */
export function fileNameExtension(file: string): string | undefined {
  return /\.([a-z0-9]+)$/i.exec(file)?.[1]?.toLowerCase();
}

export function fileExtension(format: ImageFormat): string {
  return format === 'jpeg' ? 'jpg' : format;
}
