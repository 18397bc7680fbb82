import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { installLanguageModel } from '../core/client/language-model-global';

// Runs in the page's own world (injected by the content script): see language-model-global.ts.
export default defineUnlistedScript(() => {
  installLanguageModel(window);
});
