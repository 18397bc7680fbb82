import { connectToCoordinator } from '../../core/runtime/connect';
import { startHostRuntime } from '../../core/runtime/host-runtime';
import { createHostOps } from '../../core/runtime/ops';
import { persistStorage } from '../../core/runtime/persist-storage';

void createHostOps(navigator.gpu).then((ops) =>
  startHostRuntime({
    kind: 'offscreen',
    ops,
    connect: connectToCoordinator,
    reconfigure: (preferred) => createHostOps(navigator.gpu, preferred),
  }),
);
void persistStorage();
