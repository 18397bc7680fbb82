import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';
import { createPageOps } from '../../core/runtime/page-ops';
import { createPageTasks } from '../../core/runtime/page-tasks';
import { persistStorage } from '../../core/runtime/persist-storage';

const status = document.getElementById('host-status');
void createPageOps(navigator.gpu).then((ops) => {
  const host = startHostRuntime({
    kind: 'tab',
    ops,
    connect: connectToCoordinator,
    ...createPageTasks(),
    reconfigure: (preferred) => createPageOps(navigator.gpu, preferred),
  });
  if (status) {
    status.textContent = `host ${host.hostId} · ${ops.backend}${ops.adapter ? ` (${ops.adapter})` : ''}`;
  }
});
void persistStorage();
