/**
 * Where a scheduled OCSF export puts its files and its state on S3 (docs/OCSF.md §6): a bucket
 * and prefix of the consumer's, such as a Security Lake custom source location, which is not the
 * archive and not under Object Lock (a file is replaced when a run that died is run again).
 * A PUT replaces the object whole, so readers see an old or a new file, never a part. Puts carry a
 * SHA-256 checksum (AWS-NOTES: `ChecksumAlgorithm`); reads are bounded.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { collectBounded } from './read-limit.js';
import { classifyS3Error, isNotFound } from './s3-errors.js';

export type S3ExportTargetOptions = {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix (no leading or trailing `/`); empty for the bucket's root. */
  readonly prefix?: string | undefined;
};

export class S3ExportTarget {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3ExportTargetOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    const p = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#prefix = p === '' ? '' : `${p}/`;
  }

  /** `s3://bucket/prefix/name`, for messages. */
  where(name: string): string {
    return `s3://${this.#bucket}/${this.#prefix}${name}`;
  }

  /**
   * Puts `bytes` at `name`, replacing what is there.
   * @throws the coded error of classifyS3Error
   */
  async put(name: string, bytes: Uint8Array): Promise<void> {
    const key = `${this.#prefix}${name}`;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: bytes,
          ChecksumAlgorithm: 'SHA256',
          ContentType: name.endsWith('.parquet')
            ? 'application/vnd.apache.parquet'
            : 'application/json',
        }),
      );
    } catch (err) {
      throw classifyS3Error(err, { action: 's3:PutObject', bucket: this.#bucket, key });
    }
  }

  /**
   * The object at `name` as text, or undefined when there is none.
   * @throws StorageError `OBJECT_TOO_LARGE` past `maxBytes`; the coded error of classifyS3Error
   */
  async getText(name: string, maxBytes: number): Promise<string | undefined> {
    const key = `${this.#prefix}${name}`;
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const body = r.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
      if (!body) return '';
      const bytes = await collectBounded(body, maxBytes, this.where(name), () => body.destroy?.());
      return new TextDecoder().decode(bytes);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (
        err instanceof Error &&
        'code' in err &&
        (err as { code: string }).code === 'OBJECT_TOO_LARGE'
      )
        throw err;
      throw classifyS3Error(err, { action: 's3:GetObject', bucket: this.#bucket, key });
    }
  }
}
