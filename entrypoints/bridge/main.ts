import { browser } from 'wxt/browser';
import { startBridgeFrame } from '../../core/bridge/bridge-frame';
import { BRIDGE_PORT_NAME } from '../../core/protocol/host';

startBridgeFrame({
  window,
  serviceWorker: async () => (await navigator.serviceWorker.ready).active,
  watch: () => browser.runtime.connect({ name: BRIDGE_PORT_NAME }),
});
