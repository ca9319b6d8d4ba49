/**
 * Building a segment in one buffer (segment-draft.ts: draftSegment, segmentHeadRoom, completeSegment):
 * the object is the one assembleSegment makes, whether the head fits the room kept for it or not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ecdsaKeyId } from '../../src/core/key-id.js';
import { signNoteText } from '../../src/core/note.js';
import {
  assembleSegment,
  encodeHeaderLine,
  encodeSegmentHead,
  parseSegment,
} from '../../src/core/segment.js';
import { completeSegment, draftSegment, segmentHeadRoom } from '../../src/core/segment-draft.js';
import { makeKey } from '../helpers/log-fixture.js';
import { sealedSegment } from './segment-builder.js';

const key = makeKey('draft');

describe('completeSegment', () => {
  it('equals assembleSegment for any room, in place when the head fits', async () => {
    // Prepare: the parts of a real segment.
    const p = parseSegment((await sealedSegment(key)).bytes);
    const head = encodeSegmentHead(p.noteText, p.signatures);
    const headerLine = encodeHeaderLine(p.header);
    const expected = assembleSegment(p.noteText, p.signatures, p.payload);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: head.length + 50 }), async (room) => {
        // Act
        const draft = draftSegment(room, headerLine, p.body.length);
        draft.body.set(p.body);
        const out = completeSegment(draft, p.noteText, p.signatures);
        // Assess
        expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
        expect(out.buffer === draft.buffer.buffer).toBe(room >= head.length);
      }),
    );
  });

  it('keeps room for the longest signature line of the key name', async () => {
    // Prepare: note texts signed many times (DER signatures are 70-72 bytes, mostly).
    const spki = await key.signer.publicKey();
    for (const keyName of ['k', 'audit.example.com/test', 'ключ']) {
      const text = `${keyName}\n1\nroot\n`;
      const room = segmentHeadRoom(Buffer.byteLength(text), keyName);
      const longest = encodeSegmentHead(text, [
        { keyName, keyId: ecdsaKeyId(spki), signature: new Uint8Array(72) },
      ]);
      // Assess
      expect(room).toBe(longest.length);
      for (let i = 0; i < 20; i++) {
        const sig = await signNoteText(text, keyName, key.signer);
        expect(encodeSegmentHead(text, [sig]).length).toBeLessThanOrEqual(room);
      }
    }
  });
});
