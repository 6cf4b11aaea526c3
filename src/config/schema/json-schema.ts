/**
 * The JSON Schema shipped for editors (schema/switchyard.schema.json), generated from the
 * same schema that validates configs; a unit test keeps the committed file in step.
 */
import { writeFile } from 'node:fs/promises';
import { configSchema } from './config-schema.js';
import type { JsonSchema } from './dsl.js';

/** The config's JSON Schema (draft-07, the dialect YAML editors support best). */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'switchyard config',
    description: 'A decK-style declarative config for switchyard. Kong fields switchyard does not use are accepted with a warning.',
    ...configSchema.toJsonSchema(),
  };
}

/** Write configJsonSchema() to `path` as pretty-printed JSON. */
export async function writeJsonSchema(path: string): Promise<void> {
  await writeFile(path, `${JSON.stringify(configJsonSchema(), null, 2)}\n`, 'utf8');
}
