import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';
import { createPageOps } from '../../core/runtime/page-ops';
import { createPageTasks } from '../../core/runtime/page-tasks';
import { persistStorage } from '../../core/runtime/persist-storage';

void createPageOps(navigator.gpu).then((ops) =>
  startHostRuntime({
    kind: 'offscreen',
    ops,
    connect: connectToCoordinator,
    ...createPageTasks(),
    reconfigure: (preferred) => createPageOps(navigator.gpu, preferred),
  }),
);
void persistStorage();
