/**
 * The report a person reads: one verification of a store or evidence bundle (and of its replica,
 * when given), turned into a model a renderer lays out. The verdict is the verification's, and the
 * same findings; what this adds is arrangement: a timeline of each log by UTC day, the findings
 * grouped by code with what each code means, the keys that signed and their windows, the
 * retention horizon, and where the witnesses and the replica stand.
 *
 * Cost: the verification itself, plus one small record per segment (its day, its seal time) and
 * one record per finding, kept to the end; every segment is read once (see report-segments.ts).
 * With witness keys, the log's cosigned checkpoints are read once more (a few small objects) to
 * say how far each witness has cosigned.
 */
import { FINDING_CODES, type Finding, type FindingCode } from '../core/findings.js';
import type { LogSummary } from '../core/log-verifier.js';
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import type { ReplicaLogComparison } from '../core/replica-compare.js';
import { type ReplicaSide, verifyWithReplica } from './replica.js';
import { type SegmentFacts, tapSegments, trustedKeyId, utcDay } from './report-segments.js';
import type { VerifiedSegment, VerifyStoreOptions, VerifyStoreResult } from './verify.js';
import { verifyStore } from './verify.js';
import { witnessedCheckpointsOf } from './witness-objects.js';

export type ReportOptions = Omit<VerifyStoreOptions, 'onFinding' | 'onSegment'> & {
  /** Also verify this replica and compare it (FORMAT.md §5.2). */
  readonly replica?: ObjectStore | undefined;
  /** With `replica`: how long a PENDING object may wait (default 15 minutes). */
  readonly rtcWindowMs?: number | undefined;
  /** "Now" (ms): the report's date, and the replica's pending ages. */
  readonly now: () => number;
};

/** One UTC day of a log: the segments sealed that day and the entries received that day. */
export type ReportDay = {
  readonly day: string;
  readonly segments: number;
  readonly entries: number;
  /** Sequence numbers of the first and last segment sealed that day. */
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  /** Findings about the segments sealed that day. */
  readonly findings: number;
};

export type ReportLog = {
  readonly summary: Omit<LogSummary, 'end'>;
  /** Active days in order; days with neither a segment nor an entry are left out. */
  readonly days: readonly ReportDay[];
  /** Segments that could not be parsed, so have no seal time (their findings say why). */
  readonly undated: { readonly segments: number; readonly findings: number };
};

export type ReportFinding = Finding & { readonly from?: ReplicaSide | 'comparison' | undefined };

export type FindingGroup = {
  readonly code: FindingCode;
  /** What the code means (FINDING_CODES). */
  readonly meaning: string;
  readonly findings: readonly ReportFinding[];
};

export type ReportKey = {
  readonly label: string | undefined;
  readonly name: string | undefined;
  /** 4-byte key ID, hex, as signature lines carry it. */
  readonly keyId: string;
  /** Validity window (ms), open-ended when undefined. */
  readonly notBefore: number | undefined;
  readonly notAfter: number | undefined;
  /** Segments with a valid signature by this key inside its window. */
  readonly signed: number;
  /** Valid signatures made outside its window (KEY_NOT_VALID_AT_SEAL_TIME). */
  readonly outsideWindow: number;
  /** Lines naming this key whose signature does not verify (SIGNATURE_INVALID). */
  readonly invalid: number;
  /** Seal times (ms) of the first and last segment it validly signed. */
  readonly firstSealedAt: number | undefined;
  readonly lastSealedAt: number | undefined;
};

export type ReportRetention = {
  /** Segments whose store reported lock metadata. */
  readonly withMetadata: number;
  readonly withoutMetadata: number;
  /** Segments by lock mode (`COMPLIANCE`, `GOVERNANCE`, `none`). */
  readonly modes: Readonly<Record<string, number>>;
  readonly legalHolds: number;
  /** Earliest and latest retain-until seen (ms). */
  readonly earliest: number | undefined;
  readonly latest: number | undefined;
};

export type ReportWitness = {
  readonly quorum: number;
  readonly logs: readonly {
    readonly log: string;
    readonly treeSize: number;
    /** Per trusted witness: the newest tree size it validly cosigned, and when. */
    readonly witnesses: readonly {
      readonly name: string;
      readonly newestSize: number | undefined;
      readonly cosignedAt: number | undefined;
    }[];
    /** Newest tree size cosigned by the quorum. */
    readonly quorumSize: number | undefined;
  }[];
};

export type ReportReplica = {
  readonly location: string;
  readonly findings: number;
  readonly comparisonFindings: number;
  readonly logs: readonly ReplicaLogComparison[];
};

export type Report = {
  readonly store: string;
  readonly generatedAt: number;
  readonly bundle: boolean;
  readonly ok: boolean;
  readonly findings: number;
  readonly logs: readonly ReportLog[];
  /** In the order of FINDING_CODES; codes without findings are left out. */
  readonly groups: readonly FindingGroup[];
  readonly keys: readonly ReportKey[];
  /** Signature lines from keys not trusted, by key name and ID. */
  readonly unknownKeys: readonly {
    readonly keyName: string;
    readonly keyId: string;
    readonly lines: number;
  }[];
  readonly retention: ReportRetention;
  readonly witness: ReportWitness | undefined;
  readonly replica: ReportReplica | undefined;
};

/** Where one primary segment falls in the timeline. */
type Placed = { readonly day: string | undefined };

/**
 * Verifies `store` (and `opts.replica`) and builds the report.
 * @throws as {@link verifyStore} / {@link verifyWithReplica} do (a store that cannot be listed)
 */
export async function buildReport(store: ObjectStore, opts: ReportOptions): Promise<Report> {
  const { replica, rtcWindowMs, now, ...verifyOpts } = opts;
  const tap = tapSegments(store, opts.trustedKeys);
  const findings: ReportFinding[] = [];
  const placed = new Map<string, Placed>();
  const timeline = new Timeline();
  const keys = new KeyTally(opts.trustedKeys);
  const retention = new RetentionTally();
  const onPrimarySegment = (s: VerifiedSegment) => {
    const facts = tap.take(s.key);
    placed.set(`${s.log}\n${s.seq}`, { day: facts ? utcDay(facts.sealedAt) : undefined });
    timeline.add(s, facts);
    if (facts) keys.add(facts);
    retention.add(s);
  };
  let primary: VerifyStoreResult;
  let ok: boolean;
  let replicaReport: ReportReplica | undefined;
  if (replica) {
    const r = await verifyWithReplica(tap.store, replica, {
      ...verifyOpts,
      now,
      rtcWindowMs,
      replicaOptions: { expectSize: undefined },
      onFinding: (f, from) => findings.push(from === 'primary' ? f : { ...f, from }),
      onSegment: (s, side) => {
        if (side === 'primary') onPrimarySegment(s);
      },
    });
    primary = r.primary;
    ok = r.ok;
    replicaReport = {
      location: replica.location,
      findings: r.replica.findings,
      comparisonFindings: r.comparison.findings.length,
      logs: r.comparison.logs,
    };
  } else {
    primary = await verifyStore(tap.store, {
      ...verifyOpts,
      onFinding: (f) => findings.push(f),
      onSegment: onPrimarySegment,
    });
    ok = primary.ok;
  }
  for (const f of findings)
    if (f.from === undefined && f.log !== undefined && f.seq !== undefined) {
      const at = placed.get(`${f.log}\n${f.seq}`);
      timeline.addFinding(f.log, at?.day);
    }
  return {
    store: store.location,
    generatedAt: now(),
    bundle: Boolean(opts.bundle),
    ok,
    findings: findings.length,
    logs: primary.logs.map(({ end: _end, ...summary }) => ({
      summary,
      ...timeline.of(summary.log),
    })),
    groups: groupFindings(findings),
    keys: keys.keys(),
    unknownKeys: keys.unknown(),
    retention: retention.result(),
    witness: opts.witness ? await witnessStatus(store, primary.logs, opts) : undefined,
    replica: replicaReport,
  };
}

/** Findings by code, codes in the order of FINDING_CODES, findings in the order found. */
export function groupFindings(findings: readonly ReportFinding[]): FindingGroup[] {
  const byCode = new Map<FindingCode, ReportFinding[]>();
  for (const f of findings) {
    const list = byCode.get(f.code) ?? [];
    list.push(f);
    byCode.set(f.code, list);
  }
  return (Object.keys(FINDING_CODES) as FindingCode[])
    .filter((code) => byCode.has(code))
    .map((code) => ({
      code,
      meaning: FINDING_CODES[code],
      findings: byCode.get(code) as ReportFinding[],
    }));
}

type DayCounts = {
  segments: number;
  entries: number;
  firstSeq?: number;
  lastSeq?: number;
  findings: number;
};

/** Per log, per UTC day: segments by seal day, entries by receive day, findings by segment day. */
class Timeline {
  readonly #logs = new Map<
    string,
    { days: Map<string, DayCounts>; undated: { segments: number; findings: number } }
  >();

  #log(log: string) {
    let l = this.#logs.get(log);
    if (!l) {
      l = { days: new Map(), undated: { segments: 0, findings: 0 } };
      this.#logs.set(log, l);
    }
    return l;
  }

  #day(log: string, day: string): DayCounts {
    const days = this.#log(log).days;
    let d = days.get(day);
    if (!d) {
      d = { segments: 0, entries: 0, findings: 0 };
      days.set(day, d);
    }
    return d;
  }

  add(s: VerifiedSegment, facts: SegmentFacts | undefined): void {
    if (!facts) {
      this.#log(s.log).undated.segments++;
      return;
    }
    const d = this.#day(s.log, utcDay(facts.sealedAt));
    d.segments++;
    d.firstSeq ??= s.seq;
    d.lastSeq = s.seq;
    for (const [day, n] of facts.entriesByDay) this.#day(s.log, day).entries += n;
  }

  addFinding(log: string, day: string | undefined): void {
    if (day === undefined) this.#log(log).undated.findings++;
    else this.#day(log, day).findings++;
  }

  of(log: string): { days: ReportDay[]; undated: { segments: number; findings: number } } {
    const l = this.#logs.get(log);
    if (!l) return { days: [], undated: { segments: 0, findings: 0 } };
    const days = [...l.days.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([day, d]) => ({
        day,
        segments: d.segments,
        entries: d.entries,
        firstSeq: d.firstSeq,
        lastSeq: d.lastSeq,
        findings: d.findings,
      }));
    return { days, undated: { ...l.undated } };
  }
}

type KeyCounts = {
  signed: number;
  outsideWindow: number;
  invalid: number;
  first?: number;
  last?: number;
};

/** Which trusted key signed which segments, and the signature lines of unknown keys. */
class KeyTally {
  readonly #trusted: readonly TrustedKey[];
  readonly #counts: KeyCounts[];
  readonly #unknown = new Map<string, { keyName: string; keyId: string; lines: number }>();

  constructor(trusted: readonly TrustedKey[]) {
    this.#trusted = trusted;
    this.#counts = trusted.map(() => ({ signed: 0, outsideWindow: 0, invalid: 0 }));
  }

  add(facts: SegmentFacts): void {
    for (const sig of facts.signatures) {
      if (sig.status === 'unknown') {
        const id = `${sig.keyName}+${sig.keyId}`;
        const u = this.#unknown.get(id) ?? { keyName: sig.keyName, keyId: sig.keyId, lines: 0 };
        u.lines++;
        this.#unknown.set(id, u);
        continue;
      }
      const c = this.#counts[sig.key];
      if (!c) continue;
      if (sig.status === 'invalid') c.invalid++;
      else if (sig.status === 'outside-window') c.outsideWindow++;
      else {
        c.signed++;
        c.first = Math.min(c.first ?? facts.sealedAt, facts.sealedAt);
        c.last = Math.max(c.last ?? facts.sealedAt, facts.sealedAt);
      }
    }
  }

  keys(): ReportKey[] {
    return this.#trusted.map((k, i) => {
      const c = this.#counts[i] as KeyCounts;
      return {
        label: k.label,
        name: k.name,
        keyId: trustedKeyId(k),
        notBefore: k.notBefore,
        notAfter: k.notAfter,
        signed: c.signed,
        outsideWindow: c.outsideWindow,
        invalid: c.invalid,
        firstSealedAt: c.first,
        lastSealedAt: c.last,
      };
    });
  }

  unknown(): { keyName: string; keyId: string; lines: number }[] {
    return [...this.#unknown.values()];
  }
}

/** Lock metadata of the primary's segment versions, as the store reported it. */
class RetentionTally {
  #with = 0;
  #without = 0;
  #holds = 0;
  readonly #modes: Record<string, number> = {};
  #earliest: number | undefined;
  #latest: number | undefined;

  add(s: VerifiedSegment): void {
    const meta = s.meta;
    if (!meta) {
      this.#without++;
      return;
    }
    this.#with++;
    const mode = meta.lockMode ?? 'none';
    this.#modes[mode] = (this.#modes[mode] ?? 0) + 1;
    if (meta.legalHold) this.#holds++;
    const until = meta.retainUntil?.getTime();
    if (until !== undefined && !Number.isNaN(until)) {
      this.#earliest = Math.min(this.#earliest ?? until, until);
      this.#latest = Math.max(this.#latest ?? until, until);
    }
  }

  result(): ReportRetention {
    return {
      withMetadata: this.#with,
      withoutMetadata: this.#without,
      modes: { ...this.#modes },
      legalHolds: this.#holds,
      earliest: this.#earliest,
      latest: this.#latest,
    };
  }
}

/**
 * How far each trusted witness has cosigned each log: its cosigned checkpoints read again (the
 * verifier checked them against the log; its findings about them are already in the report).
 */
async function witnessStatus(
  store: ObjectStore,
  logs: readonly LogSummary[],
  opts: ReportOptions,
): Promise<ReportWitness> {
  const witness = opts.witness as NonNullable<ReportOptions['witness']>;
  const quorum = witness.quorum ?? 1;
  const out: ReportWitness['logs'][number][] = [];
  for (const l of logs) {
    const found = await witnessedCheckpointsOf([store, ...(witness.stores ?? [])], {
      log: l.log,
      origin: l.origin ?? opts.origin,
      logKeys: opts.trustedKeys,
      witnessKeys: witness.keys,
    });
    const newest = new Map<string, { size: number; at: number }>();
    let quorumSize: number | undefined;
    for (const c of found.checkpoints) {
      const size = c.checkpoint.treeSize;
      if (c.witnesses.length >= quorum) quorumSize = Math.max(quorumSize ?? size, size);
      for (const w of c.witnesses) {
        const seen = newest.get(w.key.name);
        if (!seen || size > seen.size) newest.set(w.key.name, { size, at: w.timestamp * 1000 });
      }
    }
    out.push({
      log: l.log,
      treeSize: l.treeSize,
      witnesses: witness.keys.map((k) => ({
        name: k.name,
        newestSize: newest.get(k.name)?.size,
        cosignedAt: newest.get(k.name)?.at,
      })),
      quorumSize,
    });
  }
  return { quorum, logs: out };
}
