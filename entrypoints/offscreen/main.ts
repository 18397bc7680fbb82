import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';

startHostRuntime({ kind: 'offscreen', connect: connectToCoordinator });
