import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';
import { createHostOps } from '../../core/runtime/ops';
import { persistStorage } from '../../core/runtime/persist-storage';

const status = document.getElementById('host-status');
void createHostOps(navigator.gpu).then((ops) => {
  const host = startHostRuntime({
    kind: 'tab',
    ops,
    connect: connectToCoordinator,
    reconfigure: (preferred) => createHostOps(navigator.gpu, preferred),
  });
  if (status) {
    status.textContent = `host ${host.hostId} · ${ops.backend}${ops.adapter ? ` (${ops.adapter})` : ''}`;
  }
});
void persistStorage();
