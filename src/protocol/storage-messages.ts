/**
 * The part of the page <-> worker protocol that manages stored model weights: planning and
 * running a download into IndexedDB, pausing it, and listing or deleting stored models.
 * Part of the WorkerRequest / WorkerEvent unions in messages.ts.
 */
import type { FamilyId } from '../pipeline/families/registry.ts';

export interface TransferFigures {
  loadedBytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  /** null while the speed is unknown. */
  secondsLeft: number | null;
}

export interface StoredModelInfo {
  modelId: string;
  displayName: string;
  baseUrl: string;
  /** Bytes stored so far. */
  storedBytes: number;
  totalBytes: number;
  /** Every required file is stored and checked: loads offline. */
  complete: boolean;
}

/** What downloading a model would store, shown to the user before anything is downloaded. */
export interface DownloadPlan {
  id: number;
  baseUrl: string;
  modelId: string;
  files: Array<{ path: string; bytes: number }>;
  totalBytes: number;
  /** Already stored from an earlier, interrupted download. */
  storedBytes: number;
  /** Free space the browser offers, when it says. */
  freeBytes: number | null;
  /** What stays stored when less than totalBytes (files converted to fp16 as they arrive). */
  keptBytes?: number;
  /** A custom URL's export: the user may keep it as fp16 (converted while downloading). */
  canStoreAsFp16?: boolean;
  /** This plan keeps the export as fp16. */
  storeAsFp16?: boolean;
}

/** A hosted build the user can pick instead of typing a URL. */
export interface HostedModelInfo {
  modelId: string;
  displayName: string;
  baseUrl: string;
  /** From the model card; the exact size is read from the host before downloading. */
  approxBytes: number;
  /** What stays stored when less than the download (files converted to fp16 as they arrive). */
  keptBytes?: number;
  /** Its model family (absent: SDXL Turbo). */
  family?: FamilyId;
}

export type StorageRequest =
  /** What downloading the model at baseUrl would store: files, sizes, what is already there. */
  | { type: 'plan-download'; id: number; baseUrl: string; storeAsFp16?: boolean }
  /** Download (or resume) into IndexedDB. One download at a time. */
  | { type: 'download-model'; id: number; baseUrl: string; storeAsFp16?: boolean }
  | { type: 'download-control'; id: number; action: 'pause' | 'resume' | 'cancel' }
  | { type: 'list-models'; id: number }
  | { type: 'delete-model'; id: number; modelId: string };

export type StorageEvent =
  | ({ type: 'download-plan' } & DownloadPlan)
  | {
      type: 'download-progress';
      id: number;
      modelId: string;
      paused: boolean;
      total: TransferFigures;
      files: Record<string, TransferFigures>;
    }
  | { type: 'download-complete'; id: number; modelId: string; baseUrl: string; persisted: boolean }
  /** Cancelled by the user: what was stored stays stored. Not an error. */
  | { type: 'download-cancelled'; id: number; modelId: string }
  | {
      type: 'stored-models';
      id: number;
      models: StoredModelInfo[];
      usedBytes: number;
      freeBytes: number | null;
    };
