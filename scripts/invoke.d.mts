/** Types for `scripts/invoke.mjs` (plain ESM so it runs without a build step). */
import type { Context } from 'aws-lambda';

/** A Lambda `Context` as the Node.js runtime builds it, its remaining time counting down `timeoutMs`. */
export function lambdaContext(functionName: string, timeoutMs: number, region?: string): Context;
