/** The command reference in the docs is generated from the definitions and must not drift. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  commandReference,
  extractReference,
  replaceReference,
  END_MARKER,
  START_MARKER,
} from '../../commands/reference.js';
import { commandList } from '../../commands/index.js';

const REGENERATE = 'run: node --import tsx commands/reference.ts docs/commands.md';

test('docs/commands.md holds exactly the generated reference', () => {
  const block = extractReference(readFileSync('docs/commands.md', 'utf8'));
  assert.ok(block, `docs/commands.md has no ${START_MARKER} … ${END_MARKER} block`);
  assert.equal(block, commandReference(), `the command reference is out of date; ${REGENERATE}`);
});

test('README.md, once it has the markers, holds the same block', (t) => {
  const readme = existsSync('README.md') ? readFileSync('README.md', 'utf8') : '';
  const block = extractReference(readme);
  if (block === undefined) {
    t.skip('README.md has no command markers yet');
    return;
  }
  assert.equal(block, commandReference(), 'README.md: run node --import tsx commands/reference.ts README.md');
});

test('the reference names every command with its usage, who may run it, and its examples', () => {
  const ref = commandReference();
  for (const c of commandList) {
    assert.ok(ref.includes(`### ${c.name}`), c.name);
    assert.ok(ref.includes(`\`${c.usage.replace(/\|/g, '\\|')}\``), c.usage);
    for (const e of c.examples) assert.ok(ref.includes(e), e);
  }
  assert.match(ref, /\| `add <name> <address> \[kind\] \[key=value …\]` \| add a target \| admin \|/);
  assert.match(
    ref,
    /\| `speedtest \[now\\\|history\] \[period\]` \| run a speed test now, or show recent results \| admin for "now" \|/,
  );
});

test('replaceReference swaps only the marked block', () => {
  const doc = `intro\n${START_MARKER}\nold\n${END_MARKER}\noutro\n`;
  assert.equal(replaceReference(doc, 'NEW'), 'intro\nNEW\noutro\n');
  assert.equal(replaceReference('no markers'), undefined);
});
