import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import { expect } from 'vitest';

/** The contract schema, compiled once; every report a test produces should pass through here. */
const schemaPath = fileURLToPath(new URL('../../schema/report.v1.json', import.meta.url));
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;

// ajv ships CommonJS with a default export; under ESM the class may sit on .default.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(schema);

/** Errors of `obj` against schema/report.v1.json, as readable lines (empty when valid). */
export function reportSchemaErrors(obj: unknown): string[] {
  // Round-trip through JSON so we validate what a reader of the output would see.
  const data: unknown = JSON.parse(JSON.stringify(obj));
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Assert that `obj` is a valid contract-v1 report. */
export function expectValidReport(obj: unknown): void {
  expect(reportSchemaErrors(obj)).toEqual([]);
}
