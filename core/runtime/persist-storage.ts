/**
 * Asks the browser to keep tabpool's IndexedDB through storage pressure. Must run in an extension
 * page (hosts are): the service worker has no `navigator.storage.persist`.
 */
import { createQuota, createTabpoolDb } from '../../storage';

export async function persistStorage(): Promise<boolean> {
  const db = createTabpoolDb();
  try {
    return await createQuota({ db }).requestPersistence();
  } catch (e) {
    console.warn('tabpool: could not make storage persistent', e);
    return false;
  } finally {
    db.close();
  }
}
