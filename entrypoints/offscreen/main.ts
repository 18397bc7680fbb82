import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';
import { persistStorage } from '../../core/runtime/persist-storage';

startHostRuntime({ kind: 'offscreen', connect: connectToCoordinator });
void persistStorage();
