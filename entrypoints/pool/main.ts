import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';

const host = startHostRuntime({ kind: 'tab', connect: connectToCoordinator });
const status = document.getElementById('host-status');
if (status) status.textContent = `host ${host.hostId}`;
