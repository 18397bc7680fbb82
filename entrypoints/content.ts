import { browser } from 'wxt/browser';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { injectScript } from 'wxt/utils/inject-script';
import { runtimePortChannel } from '../core/messaging/channel';
import { BRIDGE_PATH } from '../core/pool/spawner';
import { PAGE_PORT_NAME, SESSION_PORT_NAME } from '../core/protocol/host';
import type { PageEvent, PageReply } from '../core/protocol/page';
import { startContentRelay } from '../core/relay/content-relay';
import { bridgeHandoff, pipeHandoff } from '../core/relay/session-handoff';

export default defineContentScript({
  matches: ['http://*/*', 'https://*/*'],
  runAt: 'document_start',
  main() {
    // The bridge frame needs location.ancestorOrigins to vouch for the page (Chrome has it).
    const canBridge =
      import.meta.env.MANIFEST_VERSION === 3 && window.location.ancestorOrigins !== undefined;
    startContentRelay({
      window,
      extensionVersion: browser.runtime.getManifest().version,
      connect: () =>
        runtimePortChannel<PageReply | PageEvent, unknown>(
          browser.runtime.connect({ name: PAGE_PORT_NAME }),
        ),
      handoff: canBridge
        ? bridgeHandoff(
            document,
            browser.runtime.getURL(BRIDGE_PATH),
            `chrome-extension://${browser.runtime.id}`,
          )
        : pipeHandoff(() =>
            runtimePortChannel(browser.runtime.connect({ name: SESSION_PORT_NAME })),
          ),
    });
    // Chrome's built-in AI shape for pages that expect it (installs only where none exists).
    void injectScript('/language-model.js').catch((e: unknown) =>
      console.debug('tabpool: no LanguageModel global on this page', e),
    );
  },
});
