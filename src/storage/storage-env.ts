/**
 * The browser's storage manager behind a small interface, so the download manager can check
 * free space and ask for persistence in the browser and be tested in Node with a fake.
 */

export interface StorageEstimateLike {
  quota?: number;
  usage?: number;
}

export interface StorageEnv {
  estimate(): Promise<StorageEstimateLike>;
  /** Asks the browser not to evict this origin's storage under pressure; resolves the outcome. */
  persist(): Promise<boolean>;
}

/** Free bytes by the estimate, or null when the browser gives no numbers. */
export async function freeBytes(env: StorageEnv): Promise<number | null> {
  try {
    const { quota, usage } = await env.estimate();
    if (typeof quota !== 'number' || !Number.isFinite(quota)) return null;
    return Math.max(0, quota - (usage ?? 0));
  } catch {
    return null;
  }
}

/** StorageManager as windows have it; workers lack `persist`. */
interface StorageManagerLike {
  estimate?(): Promise<StorageEstimateLike>;
  persisted?(): Promise<boolean>;
  persist?(): Promise<boolean>;
}

/**
 * navigator.storage where it exists. `persist()` is exposed to windows only, not to workers:
 * in a worker this reports `persisted()` instead, so the page should ask for persistence
 * itself (ideally from the click that starts the download).
 */
export function browserStorageEnv(): StorageEnv {
  const storage = (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator
    ?.storage;
  return {
    estimate: async () => (storage?.estimate ? storage.estimate() : {}),
    persist: async () => {
      try {
        if (storage?.persisted && (await storage.persisted())) return true;
        if (storage?.persist) return await storage.persist();
      } catch {
        // Persistence is a request, never a requirement.
      }
      return false;
    },
  };
}

/** No limits and nothing to persist: for tests and for hosts without a storage manager. */
export const unlimitedStorageEnv: StorageEnv = {
  estimate: async () => ({}),
  persist: async () => false,
};
