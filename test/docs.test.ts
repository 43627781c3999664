/**
 * The README's configuration reference cannot drift from the code: every variable
 * config.ts reads is documented (and listed in .env.example), and every settings
 * key of the schema appears in the README's config-file example.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SettingsSchema } from '../src/config.js';

const readme = readFileSync('README.md', 'utf8');
const source = readFileSync('src/config.ts', 'utf8');

test('every environment variable config.ts reads is in the README table and .env.example', () => {
  const vars = new Set<string>();
  for (const m of source.matchAll(/(?:nonEmpty\(env, |url\(env, |env\.)'?([A-Z][A-Z0-9_]+)'?/g))
    vars.add(m[1] as string);
  assert.ok(vars.size >= 25, `found ${vars.size} variables`);
  const table = readme.slice(
    readme.indexOf('| variable | meaning | default |'),
    readme.indexOf('### Config file'),
  );
  const example = readFileSync('.env.example', 'utf8');
  for (const v of vars) {
    assert.ok(table.includes(`\`${v}\``), `README's variable table documents ${v}`);
    assert.match(example, new RegExp(`^${v}=`, 'm'), `.env.example lists ${v}`);
  }
});

test('every settings key is in the README config-file example', () => {
  const example = readme.slice(readme.indexOf('### Config file'), readme.indexOf('Targets from the file'));
  const shape = SettingsSchema.shape;
  for (const key of Object.keys(shape))
    assert.match(example, new RegExp(`\\b${key}:`), `README shows settings.${key}`);
});
