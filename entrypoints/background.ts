import { defineBackground } from 'wxt/utils/define-background';
import { startCoordinator } from '../core/pool/start-coordinator';

export default defineBackground(() => {
  startCoordinator();
});
