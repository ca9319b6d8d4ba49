#!/usr/bin/env node
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  auditlock,
  CLI,
  check,
  clip,
  DemoFailure,
  flipOneDigit,
  ROOT,
  say,
  stepper,
} from './lib/narrate.mjs';

const LOG = 'default';
const ORIGIN = 'demo.auditlock.local/default';
const MAX_EVENTS = 500;
/** Segment whose event gets one changed byte, and segment deleted, in the tampered copy. */
const FLIPPED_SEQ = 3;
const DELETED_SEQ = 7;

const { values: opts } = parseArgs({
  options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (opts.help) {
  process.stdout.write(
    'Usage: node scripts/demo.mjs [--out DIR]   (default: demo-output/, wiped first)\n',
  );
  process.exit(0);
}
const OUT = resolve(ROOT, opts.out ?? 'demo-output');
/** How a path is shown and passed: relative to the repository root (the CLI's cwd) when inside it. */
const shown = (path) => {
  const rel = relative(ROOT, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};
const paths = {
  keys: join(OUT, 'keys'),
  privateKey: join(OUT, 'keys', 'signing-key.pem'),
  publicKey: join(OUT, 'keys', 'signing-key.pub.pem'),
  store: join(OUT, 'store'),
  rejects: join(OUT, 'rejects.jsonl'),
  checkpoint: join(OUT, 'checkpoint.txt'),
  proof: join(OUT, 'proof.txt'),
  tampered: join(OUT, 'tampered'),
  events: join(ROOT, 'examples', 'events.jsonl'),
  badEvents: join(ROOT, 'examples', 'bad-events.jsonl'),
};
const segmentFile = (store, seq) => join(store, LOG, 'seg', `${String(seq).padStart(20, '0')}.seg`);

const heading = stepper(7);

async function demo() {
  check(existsSync(CLI), `${CLI} is missing: build first (npm run build)`);
  say('auditlock quick-start demo');
  say('==========================');
  say(
    `Everything happens in ${shown(OUT)}/ (wiped first), on the embedded default: a local folder`,
  );
  say('store whose segments are write-once files. Each command below is the real CLI.');
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });

  heading('Generate a signing key (ECDSA P-256)');
  say('  The private key signs each segment; auditors only ever need the public key.');
  await auditlock(['keygen', '--out', shown(paths.keys), '--name', ORIGIN]);

  heading(`Archive ${shown(paths.events)} (5,000 audit events)`);
  say(
    `  Events are sealed in signed, hash-chained segments of at most ${MAX_EVENTS}, in log "${LOG}".`,
  );
  await auditlock([
    'ingest',
    shown(paths.store),
    shown(paths.events),
    '--key',
    shown(paths.privateKey),
    '--log',
    LOG,
    '--origin',
    ORIGIN,
    '--max-events',
    String(MAX_EVENTS),
  ]);

  heading(`Archive ${shown(paths.badEvents)}: every line has a mistake`);
  say('  Each bad line is reported with its line number and error code, and the exit status is 1.');
  say(
    '  With --quarantine the raw lines are still archived (marked as quarantined), so nothing is lost.',
  );
  await auditlock(
    [
      'ingest',
      shown(paths.store),
      shown(paths.badEvents),
      '--key',
      shown(paths.privateKey),
      '--log',
      LOG,
      '--quarantine',
      '--rejects',
      shown(paths.rejects),
    ],
    { expect: 1 },
  );
  const rejects = readFileSync(paths.rejects, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  check(
    rejects.length === 8,
    `expected 8 rejected lines in ${shown(paths.rejects)}, got ${rejects.length}`,
  );
  say(
    `  ${shown(paths.rejects)} lists them as JSON Lines: ${rejects.map((r) => `line ${r.line} ${r.code}`).join(', ')}.`,
  );

  heading('Verify the store with only the public key');
  say(
    '  Checks signatures, the hash chain, sequence numbers, Merkle roots and timestamps of every',
  );
  say(
    '  segment. --write-checkpoint keeps the signed tree head: later runs with --checkpoint detect',
  );
  say('  a truncated or forked log.');
  await auditlock([
    'verify',
    shown(paths.store),
    '--pubkey',
    shown(paths.publicKey),
    '--write-checkpoint',
    shown(paths.checkpoint),
  ]);

  heading('Prove that one event is in the log, and check the proof offline');
  const line = 1234;
  const eventId = JSON.parse(readFileSync(paths.events, 'utf8').split('\n')[line - 1]).id;
  say(
    `  Event ${eventId} (line ${line} of the input). The proof carries the entry, its Merkle path`,
  );
  say('  and the signed checkpoint; anyone with the public key can check it, without the store.');
  await auditlock([
    'prove',
    shown(paths.store),
    eventId,
    '--log',
    LOG,
    '--pubkey',
    shown(paths.publicKey),
    '--out',
    shown(paths.proof),
  ]);
  for (const l of readFileSync(paths.proof, 'utf8').split('\n').slice(0, 4))
    say(`    | ${clip(l)}`);
  say('    | …');
  await auditlock([
    'verify-proof',
    shown(paths.proof),
    '--pubkey',
    shown(paths.publicKey),
    '--origin',
    ORIGIN,
  ]);

  heading(`Tamper with a copy of the store (${shown(paths.tampered)})`);
  cpSync(paths.store, paths.tampered, { recursive: true });
  const flipped = segmentFile(paths.tampered, FLIPPED_SEQ);
  chmodSync(flipped, 0o644); // segment files are stored read-only
  const bytes = readFileSync(flipped);
  const change = flipOneDigit(bytes, FLIPPED_SEQ);
  writeFileSync(flipped, bytes);
  say(
    `  Changed one byte in segment ${FLIPPED_SEQ}: the source IP of event ${change.id} now reads ${change.after} (was ${change.before}).`,
  );
  unlinkSync(segmentFile(paths.tampered, DELETED_SEQ));
  say(`  Deleted segment ${DELETED_SEQ}.`);

  heading('Verify the tampered copy: every change is caught');
  const verifyArgs = [
    'verify',
    shown(paths.tampered),
    '--pubkey',
    shown(paths.publicKey),
    '--checkpoint',
    shown(paths.checkpoint),
  ];
  await auditlock(verifyArgs, { expect: 1 });
  say('  Checking the finding codes with --json:');
  const { stdout } = await auditlock([...verifyArgs, '--json'], { expect: 1, quiet: true });
  const findings = JSON.parse(stdout).findings;
  const expected = [
    [
      'PAYLOAD_HASH_MISMATCH',
      FLIPPED_SEQ,
      'the changed segment no longer matches its signed payload hash',
    ],
    ['ROOT_MISMATCH', FLIPPED_SEQ, 'its entries no longer hash to the signed Merkle root'],
    ['PREV_HASH_MISMATCH', FLIPPED_SEQ + 1, 'the next segment no longer chains to it'],
    ['SEQUENCE_GAP', DELETED_SEQ + 1, 'the deleted segment leaves a gap'],
  ];
  for (const [code, seq, meaning] of expected) {
    const found = findings.some((f) => f.code === code && f.seq === seq);
    say(`    ${found ? 'found  ' : 'MISSING'} ${code} at segment ${seq}: ${meaning}`);
    check(found, `expected finding ${code} at segment ${seq} in the tampered copy`);
  }

  say();
  say(
    'Demo complete: the clean store verified, the proof checked offline, and the tampered copy failed',
  );
  say(
    'verification with the expected findings (exit 1). Try it yourself: node dist/cli/main.js --help',
  );
}

try {
  await demo();
} catch (err) {
  say();
  if (err instanceof DemoFailure) say(`DEMO FAILED: ${err.message}`);
  else say(`DEMO FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
}
