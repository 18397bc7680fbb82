import { browser } from 'wxt/browser';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { runtimePortChannel } from '../core/messaging/channel';
import { PAGE_PORT_NAME } from '../core/protocol/host';
import type { PageReply } from '../core/protocol/page';
import { startContentRelay } from '../core/relay/content-relay';

export default defineContentScript({
  matches: ['http://*/*', 'https://*/*'],
  runAt: 'document_start',
  main() {
    startContentRelay({
      window,
      extensionVersion: browser.runtime.getManifest().version,
      connect: () =>
        runtimePortChannel<PageReply, unknown>(browser.runtime.connect({ name: PAGE_PORT_NAME })),
    });
  },
});
