/**
 * The sealing configuration (docs/FORMAT.md §11.3): which event fields are personal and whose
 * they are. Given to the writer as a JSON file; never stored in the log.
 *
 *     {"v":1,"subject":"actor.id","fields":[{"path":"actor.id"},
 *      {"path":"detail.email","subject":"detail.userId"}]}
 */
import * as z from 'zod';
import { InputError } from './errors.js';
import { issuesFromZod, messageFor, summarise } from './event.js';
import { checkSealablePath } from './sealed-path.js';

/** Most fields one configuration (and so one entry) may seal. */
export const MAX_SEALED_FIELDS = 64;

export type SealField = { readonly path: string; readonly subject: string };
/** Fields in ascending path order (the order of an entry's `sealed` records). */
export type SealConfig = { readonly fields: readonly SealField[] };

// biome-ignore lint/suspicious/noControlCharactersInRegex: paths refuse control characters
const PATH_TEXT = /^[^.\u0000-\u001f]+(\.[^.\u0000-\u001f]+)*$/u;
const eventPath = z.string().min(1).max(2048).regex(PATH_TEXT);

const configSchema = z.strictObject({
  v: z.literal(1),
  subject: eventPath.optional(),
  fields: z
    .array(z.strictObject({ path: eventPath, subject: eventPath.optional() }))
    .min(1)
    .max(MAX_SEALED_FIELDS),
});

/** Compares as RFC 8785 orders member names: by UTF-16 code units. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Validates a parsed configuration file.
 * @throws InputError `SEAL_CONFIG_INVALID` (shape, a field twice, a field inside another, a field
 *   without a subject path), `SEAL_PATH_INVALID` (a path §11.1 does not allow)
 */
export function parseSealConfig(input: unknown): SealConfig {
  const result = configSchema.safeParse(input, { error: messageFor });
  if (!result.success) {
    const issues = issuesFromZod(result.error.issues);
    throw new InputError(
      'SEAL_CONFIG_INVALID',
      summarise('invalid sealing configuration', issues),
      {
        issues,
      },
    );
  }
  const { subject, fields } = result.data;
  const out = fields.map((f, i) => {
    const path = checkSealablePath(f.path, `fields.${i}.path`);
    const subjectPath = f.subject ?? subject;
    if (subjectPath === undefined)
      throw invalid(`fields.${i}: expected a subject path (its own or the top-level "subject")`);
    return { path, subject: subjectPath };
  });
  out.sort((a, b) => compareCodeUnits(a.path, b.path));
  for (let i = 1; i < out.length; i++) {
    const prev = (out[i - 1] as SealField).path;
    const cur = (out[i] as SealField).path;
    if (prev === cur) throw invalid(`field ${cur} is listed twice`);
  }
  for (const a of out)
    for (const b of out)
      if (b.path.startsWith(`${a.path}.`))
        throw invalid(`field ${b.path} lies inside field ${a.path}: seal one or the other`);
  return { fields: out };
}

function invalid(message: string): InputError {
  return new InputError('SEAL_CONFIG_INVALID', `invalid sealing configuration: ${message}`);
}
