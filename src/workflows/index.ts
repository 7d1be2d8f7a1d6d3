export { upgradeFleet } from './fleet';
export { rollbackBatch, upgradeBatch } from './batch';
export { discoverFleet, discoverLoadBalancer, dryRunFleet } from './inspect';
