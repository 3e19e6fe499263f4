export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}
export declare const FIXED_MTIME: Date;
export declare function seededBytes(seed: string, length: number): Buffer;
export declare function servedFiles(): [string, Buffer][];
export declare function clientFiles(): [string, Buffer][];
export declare function sha256Hex(buf: Buffer): string;
export declare function makeServedTree(dir: string): ManifestEntry[];
export declare function makeClientFiles(dir: string): ManifestEntry[];
export declare function hashTree(dir: string): ManifestEntry[];
