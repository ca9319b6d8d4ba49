/** The stacks deploy the main package's bundles; a missing bundle stops synthesis with a hint. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { BundleMissingError } from '../src/ingest.js';
import { config } from './helpers.js';

describe('handler code', () => {
  it('fails synthesis with BUNDLE_MISSING naming the file, instead of deploying nothing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'auditlock-nobundle-'));
    let caught: unknown;
    try {
      buildApp(config(), { nag: false, bundleDir: empty });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BundleMissingError);
    expect((caught as BundleMissingError).code).toBe('BUNDLE_MISSING');
    expect((caught as BundleMissingError).path).toBe(join(empty, 'sqs', 'index.mjs'));
  });
});
