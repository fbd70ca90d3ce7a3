import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import type { Device } from '../diffusion/onnx/execution-device.js';

const hubSource = z.object({ repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/), revision: z.string().min(1) });

const modelVariantSchema = hubSource.extend({
  /** A named pattern list of `filePatterns`, or the patterns themselves. */
  files: z.union([z.string(), z.array(z.string()).min(1)]),
  approximateBytes: z.number().int().positive(),
  note: z.string(),
});

const upscalerSchema = z.object({
  description: z.string(),
  source: z.union([
    z.object({ github: z.string().regex(/^[\w.-]+\/[\w.-]+$/), revision: z.string(), path: z.string(), size: z.number().int().positive().optional(), sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() }),
    hubSource.extend({ path: z.string() }),
  ]),
  approximateBytes: z.number().int().positive(),
  convert: z.enum(['opencv-pb', 'onnx']),
});

const safetyCheckerSchema = hubSource.extend({
  description: z.string(),
  files: z.array(z.string()).min(1),
  approximateBytes: z.number().int().positive(),
  note: z.string(),
});

const catalogSchema = z.object({
  filePatterns: z.record(z.string(), z.array(z.string()).min(1)),
  models: z.record(
    z.string(),
    z.object({
      description: z.string(),
      variants: z.record(z.string(), modelVariantSchema),
      variantFor: z.object({ cpu: z.string(), webgpu: z.string(), cuda: z.string() }),
    }),
  ),
  upscalers: z.record(z.string(), upscalerSchema),
  safetyCheckers: z.record(z.string(), safetyCheckerSchema),
});

export type Catalog = z.infer<typeof catalogSchema>;
export type CatalogUpscaler = z.infer<typeof upscalerSchema>;
export type CatalogSafetyChecker = z.infer<typeof safetyCheckerSchema>;

/** One downloadable form of a model: where it lives on the hub and which of its files the engine needs. */
export interface ModelSource {
  readonly id: string;
  readonly variant: string;
  readonly repository: string;
  readonly revision: string;
  readonly patterns: readonly string[];
  readonly approximateBytes: number;
  readonly note: string;
}

const CATALOG_FILE = new URL('../../models/catalog.json', import.meta.url);

/** The catalog shipped in models/catalog.json, checked: a variant named for a device must exist, patterns must resolve. */
export async function loadCatalog(file: URL | string = CATALOG_FILE): Promise<Catalog> {
  const catalog = catalogSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  for (const [id, model] of Object.entries(catalog.models)) {
    for (const variant of Object.values(model.variantFor)) {
      if (!(variant in model.variants)) throw new Error(`catalog: ${id} names variant ${variant}, which it does not have`);
    }
    for (const source of Object.values(model.variants)) {
      if (typeof source.files === 'string' && !(source.files in catalog.filePatterns)) throw new Error(`catalog: ${id} uses unknown file patterns '${source.files}'`);
    }
  }
  return catalog;
}

/** The variant of a model to fetch: the one asked for, else the one for this device (fp16 SDXL-Turbo for CUDA). */
export function modelSource(catalog: Catalog, id: string, device: Device, variant?: string): ModelSource {
  const model = catalog.models[id] as Catalog['models'][string] | undefined;
  if (model === undefined) throw new UserError(`'${id}' is not in the catalog: choose one of ${[...Object.keys(catalog.models), ...Object.keys(catalog.upscalers), ...Object.keys(catalog.safetyCheckers)].join(', ')}`);
  const chosen = variant ?? model.variantFor[device];
  const source = model.variants[chosen] as Catalog['models'][string]['variants'][string] | undefined;
  if (source === undefined) throw new UserError(`${id} has no variant '${chosen}': choose one of ${Object.keys(model.variants).join(', ')}`);
  const patterns = typeof source.files === 'string' ? catalog.filePatterns[source.files] : source.files;
  return { id, variant: chosen, repository: source.repository, revision: source.revision, patterns, approximateBytes: source.approximateBytes, note: source.note };
}
