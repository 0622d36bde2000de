// The off-site keys of the database_backup task: offsite = "s3://bucket/prefix" and the store's options.
import { z } from 'zod';
import { parseOffsiteLocation } from '../../handlers/offsite/location';
import type { OffsiteSettings } from '../../handlers/offsite/model';

export const offsiteShape = {
  offsite: z.string().optional(),
  s3_endpoint: z
    .url({
      protocol: /^https?$/,
      error: 'must be an http:// or https:// URL, for example "https://s3.eu-central-1.amazonaws.com"',
    })
    .optional(),
  s3_region: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, { error: 'must be a region name, for example "eu-central-1" or "auto"' })
    .optional(),
  s3_force_path_style: z.boolean().optional(),
  s3_checksum: z.enum(['when_supported', 'when_required']).optional(),
  offsite_keep: z.number().int().positive().optional(),
  offsite_lock_days: z.number().int().positive().max(36500).optional(),
  offsite_lock_mode: z.enum(['GOVERNANCE', 'COMPLIANCE']).optional(),
};

interface OffsiteInput {
  offsite?: string | undefined;
  s3_endpoint?: string | undefined;
  s3_region?: string | undefined;
  s3_force_path_style?: boolean | undefined;
  s3_checksum?: 'when_supported' | 'when_required' | undefined;
  offsite_keep?: number | undefined;
  offsite_lock_days?: number | undefined;
  offsite_lock_mode?: 'GOVERNANCE' | 'COMPLIANCE' | undefined;
  keep?: number | undefined;
}

const DEPENDENT_KEYS = [
  's3_endpoint',
  's3_region',
  's3_force_path_style',
  's3_checksum',
  'offsite_keep',
  'offsite_lock_days',
  'offsite_lock_mode',
] as const;

export function checkOffsite(task: OffsiteInput, ctx: z.RefinementCtx): void {
  if (task.offsite === undefined) {
    for (const key of DEPENDENT_KEYS) {
      if (task[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is only used with offsite = "s3://<bucket>/<prefix>": add offsite or remove it',
        });
      }
    }
    return;
  }
  const location = parseOffsiteLocation(task.offsite);
  if (typeof location === 'string') ctx.addIssue({ code: 'custom', path: ['offsite'], message: location });
  if (task.offsite_lock_mode !== undefined && task.offsite_lock_days === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['offsite_lock_mode'],
      message:
        'needs offsite_lock_days (the retention in days) to take effect: add it or remove offsite_lock_mode',
    });
  }
  if (task.offsite_lock_days !== undefined && task.s3_checksum === 'when_required') {
    // S3 refuses Object Lock headers on a PUT without an integrity checksum, which when_required does not send.
    ctx.addIssue({
      code: 'custom',
      path: ['offsite_lock_days'],
      message:
        'needs checksums on upload (S3 refuses Object Lock without them): remove s3_checksum = "when_required" or offsite_lock_days',
    });
  }
}

/** Called only on a task that passed checkOffsite. */
export function toOffsiteSettings(task: OffsiteInput): OffsiteSettings | undefined {
  if (task.offsite === undefined) return undefined;
  const location = parseOffsiteLocation(task.offsite);
  if (typeof location === 'string') throw new Error(`unreachable: offsite was validated (${location})`);
  return {
    bucket: location.bucket,
    prefix: location.prefix,
    endpoint: task.s3_endpoint ?? null,
    region: task.s3_region ?? null,
    forcePathStyle: task.s3_force_path_style ?? false,
    checksum: task.s3_checksum ?? 'when_supported',
    keep: task.offsite_keep ?? task.keep ?? null,
    lockDays: task.offsite_lock_days ?? null,
    lockMode: task.offsite_lock_mode ?? 'GOVERNANCE',
  };
}
