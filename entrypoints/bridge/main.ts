import { startBridgeFrame } from '../../core/bridge/bridge-frame';

startBridgeFrame({
  window,
  serviceWorker: async () => (await navigator.serviceWorker.ready).active,
});
