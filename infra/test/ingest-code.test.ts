/** The stacks deploy the main package's bundles; a missing bundle stops synthesis with a hint. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { BundleMissingError } from '../src/ingest.js';
import { config, stubBundleDir } from './helpers.js';

function missingPath(bundleDir: string, overrides: Record<string, unknown> = {}): string {
  try {
    buildApp(config(overrides), { nag: false, bundleDir });
  } catch (err) {
    expect(err).toBeInstanceOf(BundleMissingError);
    expect((err as BundleMissingError).code).toBe('BUNDLE_MISSING');
    return (err as BundleMissingError).path;
  }
  throw new Error('expected BUNDLE_MISSING');
}

describe('handler code', () => {
  it('fails synthesis with BUNDLE_MISSING naming the file, instead of deploying nothing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'auditlock-nobundle-'));
    // The replica stack (and its verifier) is built first.
    expect(missingPath(empty)).toBe(join(empty, 'verify', 'index.mjs'));
  });

  it('names the ingest bundle when only that one is missing', () => {
    const dir = stubBundleDir(['sqs']);
    expect(missingPath(dir)).toBe(join(dir, 'sqs', 'index.mjs'));
  });

  it('names the verifier bundle when only that one is missing', () => {
    const dir = stubBundleDir(['verify']);
    expect(missingPath(dir)).toBe(join(dir, 'verify', 'index.mjs'));
  });

  it('names the export bundle when the export is on and only that one is missing', () => {
    const dir = stubBundleDir(['export']);
    expect(missingPath(dir, { export: {} })).toBe(join(dir, 'export', 'index.mjs'));
  });

  it('does not need the export bundle while the export is off', () => {
    const dir = stubBundleDir(['export']);
    expect(() => buildApp(config(), { nag: false, bundleDir: dir })).not.toThrow();
  });
});
