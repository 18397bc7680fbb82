import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';
import { persistStorage } from '../../core/runtime/persist-storage';

const host = startHostRuntime({ kind: 'tab', connect: connectToCoordinator });
const status = document.getElementById('host-status');
if (status) status.textContent = `host ${host.hostId}`;
void persistStorage();
